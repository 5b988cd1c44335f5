/*
 * The checks and helpers the C test programs share (test_*.c).
 *
 * Each CHECK records a failure with file:line and goes on; check_report()
 * prints the closing "N passed, M failed" line and gives the exit status.
 * The counters are not locked: only the main thread calls CHECK. Everything
 * is static inline, so a program that uses a part only pays for that part,
 * and -Wall -Wextra -Werror stay quiet about the rest.
 */
#ifndef ETCDC_EXAMPLES_CHECK_H
#define ETCDC_EXAMPLES_CHECK_H

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "etcdc.h"

static int passed, failed;

static inline int check_impl(int ok, const char *expr, const char *file, int line) {
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s:%d: %s\n", file, line, expr);
    }
    return ok;
}

/* CHECK(cond): records cond; returns whether it held. */
#define CHECK(cond) check_impl((cond) ? 1 : 0, #cond, __FILE__, __LINE__)

static inline int check_status_impl(etcdc_status got, etcdc_status want, const char *expr,
                             const char *file, int line) {
    if (got == want) {
        passed++;
        return 1;
    }
    failed++;
    const etcdc_error *e = etcdc_error_last();
    int detail = got != ETCDC_OK && e != NULL;
    int said = detail && e->server_message != NULL && e->server_message[0] != '\0';
    printf("FAIL %s:%d: %s\n     returned %d (%s), expected %d (%s)%s%s%s%s%s\n", file, line,
           expr, (int)got, etcdc_status_str(got), (int)want, etcdc_status_str(want),
           detail ? "; last error: " : "", detail ? e->message : "",
           said ? " (the server said \"" : "", said ? e->server_message : "", said ? "\")" : "");
    return 0;
}

/* CHECK_ST(call, status): the call returns exactly that status. */
#define CHECK_ST(call, want) check_status_impl((call), (want), #call, __FILE__, __LINE__)

static inline int check_str_impl(const char *got, const char *want, const char *expr, const char *file,
                          int line) {
    int ok = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s:%d: %s\n     got %s%s%s, expected %s%s%s\n", file, line, expr,
               got ? "\"" : "", got ? got : "NULL", got ? "\"" : "", want ? "\"" : "",
               want ? want : "NULL", want ? "\"" : "");
    }
    return ok;
}

/* CHECK_STR(got, want): equal strings (or both NULL). */
#define CHECK_STR(got, want) check_str_impl((got), (want), #got " == " #want, __FILE__, __LINE__)

static inline int check_u64_impl(uint64_t got, uint64_t want, const char *expr, const char *file,
                          int line) {
    if (got == want) {
        passed++;
        return 1;
    }
    failed++;
    printf("FAIL %s:%d: %s\n     got %" PRIu64 ", expected %" PRIu64 "\n", file, line, expr, got,
           want);
    return 0;
}

/* CHECK_U64(got, want): equal indexes, both printed on failure. */
#define CHECK_U64(got, want) check_u64_impl((got), (want), #got " == " #want, __FILE__, __LINE__)

/* The last error is `status` and its message contains `needle` (and none
 * of its strings is NULL). */
static inline int last_error_is(etcdc_status status, const char *needle) {
    const etcdc_error *e = etcdc_error_last();
    return e != NULL && e->status == status && e->message != NULL && e->cause != NULL &&
           e->server_message != NULL && strstr(e->message, needle) != NULL;
}

/* The last error is `status` and the server said exactly `words` in it
 * (etcdc_error.server_message; "" when no server answer is involved). */
static inline int last_error_said(etcdc_status status, const char *words) {
    const etcdc_error *e = etcdc_error_last();
    return e != NULL && e->status == status && e->server_message != NULL &&
           strcmp(e->server_message, words) == 0;
}

static inline int check_int_impl(long got, long want, const char *expr, const char *file, int line) {
    if (got == want) {
        passed++;
        return 1;
    }
    failed++;
    printf("FAIL %s:%d: %s\n     got %ld, expected %ld\n", file, line, expr, got, want);
    return 0;
}

/* CHECK_INT(got, want): equal numbers, both printed on failure. */
#define CHECK_INT(got, want) check_int_impl((long)(got), (long)(want), #got " == " #want, \
                                            __FILE__, __LINE__)

/* Prints the closing line and returns the exit status. */
static inline int check_report(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void sleep_s(double s) {
    if (s <= 0) {
        return;
    }
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Valgrind runs the program several times slower; it preloads its
 * vgpreload_*.so into the program, which shows in LD_PRELOAD. */
static inline int under_valgrind(void) {
    const char *p = getenv("LD_PRELOAD");
    return p != NULL && (strstr(p, "vgpreload") != NULL || strstr(p, "valgrind") != NULL);
}

/* How long "at once" may take: 100 ms, or 500 ms under valgrind. */
static inline double prompt_limit(void) {
    return under_valgrind() ? 0.5 : 0.1;
}

/* A loopback port with nothing listening: bind to port 0, read it, close. */
static inline unsigned short dead_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = 0;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t len = sizeof a;
    unsigned short port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* printf into one of a ring of 16 buffers and return it, so that several
 * results (key names) can be live at once. Main thread only; results over
 * 511 bytes are cut. */
static inline const char *ring_printf(const char *fmt, ...) {
    static char ring[16][512];
    static unsigned next;
    char *buf = ring[next++ % 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof ring[0], fmt, ap);
    va_end(ap);
    return buf;
}

#endif
