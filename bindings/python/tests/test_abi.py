"""The binding matches include/etcdc.h, as a C compiler sees it.

etcdc/_lib.py copies the header by hand: the statuses, the constants, the
structs (ctypes) and the prototypes. These tests compile a small C program
against the header that prints every value, every struct's size and every
field's offset and size, and compare each with the binding; the statuses and
constants to check are taken from the header itself, so one the binding
lacks fails here. They also check that every status has its exception, and
that every declared prototype has the header's parameter and return types.

When a test here fails after a change of the header, change etcdc/_lib.py
(and exceptions.py) to match: the binding is then out of date.
"""

import ctypes
import os
import re
import shutil
import subprocess

import pytest

import etcdc
from etcdc import _lib, exceptions

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
HEADER = os.path.join(REPO, "include", "etcdc.h")

pytestmark = pytest.mark.skipif(
    not os.path.exists(HEADER), reason="include/etcdc.h not found (not in the etcdc repository)"
)

# The families of macros the binding mirrors in _lib.py (as the name without
# ETCDC_), and the integer macros it deliberately does not.
MIRRORED = re.compile(r"ETCDC_(\w+_OPTIONS_VERSION|PREV_EXIST_\w+|STATS_\w+|PERM_\w+|MAX_TTL)$")
NOT_MIRRORED = {"ETCDC_VERSION_MAJOR", "ETCDC_VERSION_MINOR", "ETCDC_VERSION_PATCH"}


def _header_text():
    with open(HEADER) as f:
        return f.read()


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


class Header(object):
    """What the tests need of include/etcdc.h, parsed from its text."""

    def __init__(self, text):
        code = _strip_comments(text)
        m = re.search(r"enum\s+etcdc_status\s*\{(.*?)\}", code, re.S)
        assert m, "no `enum etcdc_status { ... }` in %s" % HEADER
        self.statuses = re.findall(r"\b(ETCDC_\w+)\s*(?:=[^,}]*)?,?", m.group(1))
        assert "ETCDC_OK" in self.statuses, self.statuses
        # Integer macros (not the _INIT initialisers, nor the include guard).
        self.int_macros = re.findall(
            r"^\s*#\s*define\s+(ETCDC_\w+)\s+\(?-?\d+\w*\)?\s*$", code, re.M
        )
        # Struct definitions: name -> field names in order.
        self.structs = {}
        for m in re.finditer(r"typedef\s+struct\s+(etcdc_\w+)\s*\{(.*?)\}\s*\1\s*;", code, re.S):
            fields = []
            for decl in m.group(2).split(";"):
                decl = decl.strip()
                if decl:
                    fields.append(re.findall(r"\w+", decl)[-1])
            self.structs[m.group(1)] = fields
        # Opaque handles: `typedef struct etcdc_x etcdc_x;`.
        self.opaque = set(re.findall(r"typedef\s+struct\s+(etcdc_\w+)\s+\1\s*;", code))
        # Functions: name -> (return type, [parameter types]).
        self.functions = {}
        for m in re.finditer(r"([\w \*]+?)\b(etcdc_\w+)\s*\(([^;{()]*?)\)\s*;", code):
            ret, name, params = m.group(1).strip(), m.group(2), m.group(3).strip()
            if ret.startswith("typedef"):
                continue
            types = []
            if params not in ("", "void"):
                for p in params.split(","):
                    p = p.strip()
                    pname = re.findall(r"\w+", p)[-1]
                    types.append(p[: p.rindex(pname)].strip())
            self.functions[name] = (ret, types)


@pytest.fixture(scope="module")
def header():
    return Header(_header_text())


def _binding_structs():
    """Every ctypes Structure of _lib that mirrors a struct of the header."""
    found = {}
    for name, obj in vars(_lib).items():
        if isinstance(obj, type) and issubclass(obj, ctypes.Structure):
            if obj.__module__ != _lib.__name__ or name.startswith("_"):
                continue  # ctypes' own, or private (the loader's link_map)
            assert "_c_name" in vars(obj), (
                "_lib.%s mirrors no struct: give it _c_name (its C name)" % name
            )
            found[obj._c_name] = obj
    return found


def _mirrored_macros(header):
    return [m for m in header.int_macros if MIRRORED.match(m)]


@pytest.fixture(scope="module")
def compiled(header, tmp_path_factory):
    """{("value", NAME): int, ("size", struct): int,
    ("offset", struct, field): int, ("fsize", struct, field): int}: what the
    C compiler makes of the header."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler (cc, gcc or clang; or $CC) to compile a program against etcdc.h")
    lines = [
        "#include <stddef.h>",
        "#include <stdio.h>",
        '#include "etcdc.h"',
        "int main(void) {",
    ]
    for name in header.statuses + _mirrored_macros(header):
        lines.append('    printf("value %s %%lld\\n", (long long)(%s));' % (name, name))
    for struct in sorted(_binding_structs()):
        if struct not in header.structs:
            continue  # reported by test_struct_layouts
        lines.append('    printf("size %s %%zu\\n", sizeof(%s));' % (struct, struct))
        for field in header.structs[struct]:
            lines.append(
                '    printf("offset %s %s %%zu\\n", offsetof(%s, %s));'
                % (struct, field, struct, field)
            )
            lines.append(
                '    printf("fsize %s %s %%zu\\n", sizeof(((%s *)0)->%s));'
                % (struct, field, struct, field)
            )
    lines += ["    return 0;", "}", ""]
    d = tmp_path_factory.mktemp("abi")
    src, exe = str(d / "abi.c"), str(d / "abi")
    with open(src, "w") as f:
        f.write("\n".join(lines))
    r = subprocess.run(
        [cc, "-std=c99", "-Wall", "-I", os.path.dirname(HEADER), "-o", exe, src],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, "compiling against etcdc.h failed:\n%s\n%s" % (
        r.stderr,
        "\n".join(lines),
    )
    r = subprocess.run([exe], capture_output=True, text=True, check=True)
    out = {}
    for line in r.stdout.splitlines():
        words = line.split()
        out[tuple(words[:-1])] = int(words[-1])
    return out


def _binding_name(c_name):
    return c_name[len("ETCDC_"):]


def test_statuses(header, compiled):
    """Every status of the header, with its value, and no other."""
    missing, wrong = [], []
    for name in header.statuses:
        value = compiled[("value", name)]
        mine = getattr(_lib, _binding_name(name), None)
        if mine is None:
            missing.append("%s = %d" % (_binding_name(name), value))
        elif mine != value:
            wrong.append("%s is %d in the binding, %d in the header" % (name, mine, value))
    assert not missing, "_lib.py lacks statuses of etcdc.h: " + ", ".join(missing)
    assert not wrong, wrong
    known = {_binding_name(n) for n in header.statuses}
    stale = [n for n in vars(_lib) if re.fullmatch(r"ERR_\w+|OK", n) and n not in known]
    assert not stale, "statuses of _lib.py that etcdc.h does not have: %s" % stale


def test_constants(header, compiled):
    """Every options version, prev_exist, stats, permission and ttl constant
    of the header, with its value, and no other; no integer macro of the
    header is left unclassified."""
    unclassified = [
        m for m in header.int_macros if not MIRRORED.match(m) and m not in NOT_MIRRORED
    ]
    assert not unclassified, (
        "integer macros of etcdc.h this test does not know: mirror them in "
        "_lib.py (and MIRRORED here) or list them in NOT_MIRRORED: %s" % unclassified
    )
    macros = _mirrored_macros(header)
    assert "ETCDC_MAX_TTL" in macros and "ETCDC_CLIENT_OPTIONS_VERSION" in macros, macros
    for name in macros:
        value = compiled[("value", name)]
        mine = getattr(_lib, _binding_name(name), None)
        assert mine is not None, "_lib.py lacks %s = %d" % (_binding_name(name), value)
        assert mine == value, "%s is %d in the binding, %d in the header" % (name, mine, value)
    known = {_binding_name(n) for n in macros}
    stale = [
        n
        for n in vars(_lib)
        if MIRRORED.match("ETCDC_" + n) and n.isupper() and n not in known
    ]
    assert not stale, "constants of _lib.py that etcdc.h does not have: %s" % stale


def test_options_versions_match_their_structs():
    """Each options struct is initialised with the version its definition
    corresponds to (the constant checked above)."""
    for struct in _binding_structs().values():
        if struct._c_name.endswith("_options"):
            kind = struct._c_name[len("etcdc_"):-len("_options")]
            assert struct._init_name == "etcdc_%s_options_init" % kind
            assert struct._version == getattr(_lib, "%s_OPTIONS_VERSION" % kind.upper())
            assert struct._fields_[0] == ("version", ctypes.c_uint32)


def test_struct_layouts(header, compiled):
    """Every struct the binding defines: the header's fields, in order, at
    the same offsets with the same sizes, and the same total size."""
    structs = _binding_structs()
    for name in (
        "etcdc_client_options",
        "etcdc_write_options",
        "etcdc_read_options",
        "etcdc_delete_options",
        "etcdc_watch_options",
        "etcdc_lock_options",
        "etcdc_election_options",
        "etcdc_error",
        "etcdc_member",
    ):
        assert name in structs, "_lib.py defines no ctypes struct for %s" % name
    for c_name, cls in sorted(structs.items()):
        assert c_name in header.structs, "etcdc.h has no struct %s (_lib.%s)" % (
            c_name,
            cls.__name__,
        )
        mine = [f[0] for f in cls._fields_]
        assert mine == header.structs[c_name], "fields of %s" % c_name
        for field in mine:
            descr = getattr(cls, field)
            where = "%s.%s" % (c_name, field)
            assert descr.offset == compiled[("offset", c_name, field)], "offset of " + where
            assert descr.size == compiled[("fsize", c_name, field)], "size of " + where
        assert ctypes.sizeof(cls) == compiled[("size", c_name)], "sizeof(%s)" % c_name


def test_every_status_has_its_exception(header, compiled):
    """exceptions._BY_STATUS names a class for every failure status of the
    header (EtcdException itself where python-etcd has no class either), and
    from_status raises it."""
    lib = _lib.load()
    for name in header.statuses:
        value = compiled[("value", name)]
        if name == "ETCDC_OK":
            assert value == 0
            assert value not in exceptions._BY_STATUS
            continue
        assert value in exceptions._BY_STATUS, "no exception for %s in exceptions._BY_STATUS" % name
        cls = exceptions._BY_STATUS[value]
        assert issubclass(cls, etcdc.EtcdException), name
        e = exceptions.from_status(lib, value)
        assert isinstance(e, cls) and e.status == value and str(e), name


# -- prototypes ---------------------------------------------------------

# The C scalar types and their ctypes equivalents.
_SCALARS = {
    "bool": ctypes.c_bool,
    "int": ctypes.c_int,
    "etcdc_status": ctypes.c_int,
    "uint16_t": ctypes.c_uint16,
    "uint32_t": ctypes.c_uint32,
    "uint64_t": ctypes.c_uint64,
    "int64_t": ctypes.c_int64,
    "size_t": ctypes.c_size_t,
}


def _c_kind(ctype, header, mirrored):
    """(base, pointer depth) of a C type. Pointers to char, void and opaque
    handles are one kind ("pointer"): the binding passes them as c_char_p or
    c_void_p alike; structs the binding mirrors keep their name."""
    words = [w for w in re.findall(r"\w+|\*", ctype) if w not in ("const", "struct", "enum")]
    depth = words.count("*")
    base = " ".join(w for w in words if w != "*")
    if base == "void" and depth == 0:
        return None
    if base in _SCALARS:
        return (_SCALARS[base], depth)
    if base in mirrored:
        return (base, depth)
    assert base in ("char", "void") or base in header.opaque, "unknown C type %r" % ctype
    assert depth >= 1, ctype
    return ("pointer", depth - 1)


def _py_kind(t):
    """The same for a ctypes type of the binding's prototypes."""
    if t is None:
        return None
    if t in (ctypes.c_char_p, ctypes.c_void_p):
        return ("pointer", 0)
    if isinstance(t, type) and issubclass(t, ctypes.Structure):
        return (t._c_name, 0)
    if hasattr(t, "_type_") and isinstance(t._type_, type):  # POINTER(x)
        base, depth = _py_kind(t._type_)
        return (base, depth + 1)
    for c in set(_SCALARS.values()):
        if t is c:
            return (c, 0)
    raise AssertionError("unknown ctypes type %r" % (t,))


def test_prototypes_match_header(header):
    """Every function the binding declares is in the header with the same
    return type and parameter types (ABI-wise: char, void and handle
    pointers alike; integer width and signedness, options structs exactly)."""
    mirrored = set(_binding_structs())
    for name, (restype, argtypes) in _lib._PROTOTYPES.items():
        assert name in header.functions, "%s is not in etcdc.h" % name
        ret, params = header.functions[name]
        assert len(argtypes) == len(params), "%s: %d parameters, etcdc.h has %d" % (
            name,
            len(argtypes),
            len(params),
        )
        assert _py_kind(restype) == _c_kind(ret, header, mirrored), "%s returns %s" % (name, ret)
        for i, (mine, theirs) in enumerate(zip(argtypes, params)):
            assert _py_kind(mine) == _c_kind(theirs, header, mirrored), (
                "%s: parameter %d is %s in etcdc.h, %r in _lib.py" % (name, i + 1, theirs, mine)
            )


class _ClientOptionsV2(ctypes.Structure):
    """etcdc_client_options as the version-2 header declared it (before
    srv_domain and dns_server): what a binding written for it passes."""

    _fields_ = [f for f in _lib.ClientOptions._fields_ if f[0] not in ("srv_domain", "dns_server")]


def test_a_version_2_client_options_struct_still_works(compiled, endpoint):
    """Version 3 only added fields at the end: a version-2 struct, of its
    own (shorter) size, is initialised and read within that size."""
    assert ctypes.sizeof(_ClientOptionsV2) == compiled[
        ("offset", "etcdc_client_options", "srv_domain")
    ]
    lib = _lib.load()
    buf = ctypes.create_string_buffer(b"\xab" * (ctypes.sizeof(_ClientOptionsV2) + 16))
    opts = ctypes.cast(buf, ctypes.POINTER(_lib.ClientOptions))
    assert lib.etcdc_client_options_init(opts, 2) == 0
    v2 = _ClientOptionsV2.from_buffer(buf)
    assert v2.version == 2 and v2.password is None
    # Nothing written past version 2's size.
    size = ctypes.sizeof(_ClientOptionsV2)
    assert buf.raw[size : size + 16] == b"\xab" * 16
    url = ctypes.c_char_p(endpoint.encode())
    v2.endpoints = ctypes.pointer(url)
    v2.endpoint_count = 1
    out = _lib.client_p()
    assert lib.etcdc_client_new(opts, ctypes.byref(out)) == 0
    found = _lib.strings_p()
    assert lib.etcdc_client_endpoints(out, ctypes.byref(found)) == 0
    assert _lib.take_strings(lib, found.value) == [endpoint]
    lib.etcdc_client_free(out)
