// etcdc from C++: RAII wrappers over the C handles (std::unique_ptr with the
// _free functions) and an exception for failed calls.
//
//   quickstart_cxx [ENDPOINT]     (default: $ETCDC_ENDPOINT, else http://127.0.0.1:2379)
//
// Build: c++ -std=c++11 quickstart.cpp $(pkg-config --cflags --libs etcdc)
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "etcdc.h"

namespace etcd {

struct ClientFree {
    void operator()(etcdc_client *c) const { etcdc_client_free(c); }
};
struct ResponseFree {
    void operator()(etcdc_response *r) const { etcdc_response_free(r); }
};
struct LockFree {
    void operator()(etcdc_lock *l) const { etcdc_lock_free(l); }
};

using Client = std::unique_ptr<etcdc_client, ClientFree>;
using Response = std::unique_ptr<etcdc_response, ResponseFree>;
using Lock = std::unique_ptr<etcdc_lock, LockFree>;

// A failed etcdc call: its status and the thread's last-error message.
class Error : public std::runtime_error {
  public:
    explicit Error(etcdc_status s)
        : std::runtime_error(describe(s)), status(s) {}
    etcdc_status status;

  private:
    static std::string describe(etcdc_status s) {
        const etcdc_error *e = etcdc_error_last();
        return std::string(etcdc_status_str(s)) + (e ? std::string(": ") + e->message : "");
    }
};

inline void check(etcdc_status s) {
    if (s != ETCDC_OK) {
        throw Error(s);
    }
}

inline Client connect(const char *endpoint) {
    etcdc_client_options opts = ETCDC_CLIENT_OPTIONS_INIT;
    opts.endpoints = &endpoint;
    opts.endpoint_count = 1;
    etcdc_client *raw = nullptr;
    check(etcdc_client_new(&opts, &raw));
    return Client(raw);
}

inline Response write(const Client &c, const std::string &key, const std::string &value,
                      const etcdc_write_options *opts = nullptr) {
    etcdc_response *raw = nullptr;
    check(etcdc_write(c.get(), key.c_str(), value.c_str(), opts, &raw));
    return Response(raw);
}

inline std::string get(const Client &c, const std::string &key) {
    etcdc_response *raw = nullptr;
    check(etcdc_read(c.get(), key.c_str(), nullptr, &raw));
    Response r(raw);
    return etcdc_node_value(etcdc_response_node(r.get()));
}

}  // namespace etcd

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : std::getenv("ETCDC_ENDPOINT");
    if (endpoint == nullptr) {
        endpoint = "http://127.0.0.1:2379";
    }
    try {
        etcd::Client client = etcd::connect(endpoint);
        std::cout << "etcdc " << etcdc_version() << " from C++, talking to " << endpoint << "\n";
        const std::string key = "/cxx/" + std::to_string(std::rand()) + "/greeting";

        etcd::write(client, key, "hello");
        std::cout << "get " << key << " -> " << etcd::get(client, key) << "\n";

        etcdc_write_options cas = ETCDC_WRITE_OPTIONS_INIT;
        cas.prev_value = "not what is there";
        try {
            etcd::write(client, key, "changed", &cas);
            std::cout << "compare-and-swap unexpectedly succeeded\n";
            return 1;
        } catch (const etcd::Error &e) {
            std::cout << "compare-and-swap with a wrong prev_value -> " << e.what() << "\n";
            if (e.status != ETCDC_ERR_COMPARE_FAILED) {
                return 1;
            }
        }

        etcdc_lock *raw_lock = nullptr;
        etcd::check(etcdc_lock_new(client.get(), key.c_str(), nullptr, &raw_lock));
        etcd::Lock lock(raw_lock);  // freed (and released) at the end of scope
        etcd::check(etcdc_lock_acquire(lock.get(), 5000));
        std::cout << "lock acquired; released when the unique_ptr goes\n";

        etcd::check(etcdc_delete(client.get(), key.c_str(), nullptr, nullptr));
        std::cout << "C++ quick start: all steps behaved as expected\n";
        return 0;
    } catch (const etcd::Error &e) {
        std::cerr << "failed: " << e.what() << "\n";
        return 1;
    }
}
