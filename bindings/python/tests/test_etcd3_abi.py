"""etcdc/_lib3.py (the v3 part of the C API, for etcdc.etcd3) matches
include/etcdc.h as a C compiler sees it: its structs (sizes, offsets),
its constants (options versions, enum values) and its prototypes; and every
status of the header maps to an etcd3 exception.

When a test here fails after a change of the header, change _lib3.py to
match."""

import ctypes
import os
import re
import shutil
import subprocess

import pytest

from etcdc import _lib, _lib3
from etcdc.etcd3 import exceptions
from test_abi import HEADER, Header, _header_text

pytestmark = pytest.mark.skipif(
    not os.path.exists(HEADER), reason="include/etcdc.h not found (not in the etcdc repository)"
)


def _structs():
    found = {}
    for name, obj in vars(_lib3).items():
        if isinstance(obj, type) and issubclass(obj, ctypes.Structure):
            if obj.__module__ == _lib3.__name__:
                found[obj._c_name] = obj
    return found


def _constants():
    """_lib3's constants that mirror the header's: {C name: value}."""
    return {"ETCDC_" + n: v for n, v in vars(_lib3).items()
            if re.fullmatch(r"V3_[A-Z0-9_]+", n) and isinstance(v, int)}


@pytest.fixture(scope="module")
def header():
    return Header(_header_text())


@pytest.fixture(scope="module")
def compiled(header, tmp_path_factory):
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler to compile a program against etcdc.h")
    lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "etcdc.h"', "int main(void) {"]
    code = open(HEADER).read()
    for name in _constants():
        if re.search(r"\b%s\b" % name, code):
            lines.append('    printf("value %s %%lld\\n", (long long)(%s));' % (name, name))
    for struct in sorted(_structs()):
        if struct not in header.structs:
            continue
        lines.append('    printf("size %s %%zu\\n", sizeof(%s));' % (struct, struct))
        for field in header.structs[struct]:
            lines.append('    printf("offset %s %s %%zu\\n", offsetof(%s, %s));'
                         % (struct, field, struct, field))
            lines.append('    printf("fsize %s %s %%zu\\n", sizeof(((%s *)0)->%s));'
                         % (struct, field, struct, field))
    lines += ["    return 0;", "}", ""]
    d = tmp_path_factory.mktemp("abi3")
    src, exe = str(d / "abi3.c"), str(d / "abi3")
    with open(src, "w") as f:
        f.write("\n".join(lines))
    r = subprocess.run([cc, "-std=c99", "-Wall", "-I", os.path.dirname(HEADER), "-o", exe, src],
                       capture_output=True, text=True)
    assert r.returncode == 0, "compiling against etcdc.h failed:\n%s" % r.stderr
    r = subprocess.run([exe], capture_output=True, text=True, check=True)
    out = {}
    for line in r.stdout.splitlines():
        words = line.split()
        out[tuple(words[:-1])] = int(words[-1])
    return out


def test_constants(compiled):
    missing = [n for n in _constants() if ("value", n) not in compiled]
    assert not missing, "constants of _lib3.py that etcdc.h does not have: %s" % missing
    for name, value in _constants().items():
        assert compiled[("value", name)] == value, name


def test_struct_layouts(header, compiled):
    structs = _structs()
    for c_name, cls in sorted(structs.items()):
        assert c_name in header.structs, "etcdc.h has no struct %s" % c_name
        assert [f[0] for f in cls._fields_] == header.structs[c_name], "fields of %s" % c_name
        for field, _ in cls._fields_:
            descr = getattr(cls, field)
            assert descr.offset == compiled[("offset", c_name, field)], "%s.%s" % (c_name, field)
            assert descr.size == compiled[("fsize", c_name, field)], "%s.%s" % (c_name, field)
        assert ctypes.sizeof(cls) == compiled[("size", c_name)], c_name
        if c_name.endswith("_options"):
            kind = c_name[len("etcdc_"):-len("_options")]
            assert cls._init_name == "etcdc_%s_options_init" % kind
            assert cls._version == getattr(_lib3, "%s_OPTIONS_VERSION" % kind.upper())


_SCALARS = {
    "bool": ctypes.c_bool, "int": ctypes.c_int, "uint8_t": ctypes.c_uint8,
    "uint16_t": ctypes.c_uint16, "uint32_t": ctypes.c_uint32, "uint64_t": ctypes.c_uint64,
    "int64_t": ctypes.c_int64, "size_t": ctypes.c_size_t,
}


def _c_kind(ctype, header, mirrored):
    enum = "enum" in ctype.split()
    words = [w for w in re.findall(r"\w+|\*", ctype) if w not in ("const", "struct", "enum")]
    depth = words.count("*")
    base = " ".join(w for w in words if w != "*")
    if base == "void" and depth == 0:
        return None
    if enum and depth == 0:
        return (ctypes.c_int, 0)  # C enums are ints
    if base.endswith("_callback") and depth == 0:
        return ("callback", 0)
    if base in mirrored:
        return (base, depth)
    if base in _SCALARS and depth == 0:
        return (_SCALARS[base], 0)
    if base in ("uint8_t", "char", "void") or base in header.opaque:
        assert depth >= 1, ctype
        return ("pointer", depth - 1)
    if base in _SCALARS:
        return (_SCALARS[base], depth)
    raise AssertionError("unknown C type %r" % ctype)


def _py_kind(t):
    if t is None:
        return None
    if t in (ctypes.c_char_p, ctypes.c_void_p):
        return ("pointer", 0)
    if isinstance(t, type) and issubclass(t, ctypes.Structure):
        return (t._c_name, 0)
    if isinstance(t, type) and issubclass(t, ctypes._CFuncPtr):
        return ("callback", 0)
    if hasattr(t, "_type_") and isinstance(t._type_, type):  # POINTER(x)
        base, depth = _py_kind(t._type_)
        return (base, depth + 1)
    for c in set(_SCALARS.values()):
        if t is c:
            return (c, 0)
    raise AssertionError("unknown ctypes type %r" % (t,))


def test_prototypes_match_header(header):
    mirrored = set(_structs())
    prototypes = dict(_lib3._PROTOTYPES)
    prototypes.update(_lib3._LOCK_PROTOTYPES)
    for name, (restype, argtypes) in prototypes.items():
        if name in _lib3._LOCK_PROTOTYPES and name not in header.functions:
            continue  # a header from before the v3 lock
        assert name in header.functions, "%s is not in etcdc.h" % name
        ret, params = header.functions[name]
        assert len(argtypes) == len(params), name
        assert _py_kind(restype) == _c_kind(ret, header, mirrored), "%s returns %s" % (name, ret)
        for i, (mine, theirs) in enumerate(zip(argtypes, params)):
            assert _py_kind(mine) == _c_kind(theirs, header, mirrored), (
                "%s: parameter %d is %s in etcdc.h, %r in _lib3.py" % (name, i + 1, theirs, mine))


def test_every_status_has_its_exception(header):
    lib = _lib3.load()
    for name in header.statuses:
        if name == "ETCDC_OK":
            continue
        value = getattr(_lib, name[len("ETCDC_"):], None)
        if value is None:
            continue  # test_abi.py reports a status _lib.py lacks
        e = exceptions._from_status(lib, value)
        assert isinstance(e, exceptions.Etcd3Exception) and e.status == value, name


def test_status_mapping_is_python_etcd3s():
    lib = _lib3.load()
    m = exceptions._from_status
    assert type(m(lib, _lib.ERR_GRPC_INTERNAL)) is exceptions.InternalServerError
    assert type(m(lib, _lib.ERR_GRPC_UNAVAILABLE)) is exceptions.ConnectionFailedError
    assert type(m(lib, _lib.ERR_GRPC_DEADLINE_EXCEEDED)) is exceptions.ConnectionTimeoutError
    assert type(m(lib, _lib.ERR_GRPC_FAILED_PRECONDITION)) is exceptions.PreconditionFailedError
    assert type(m(lib, _lib.ERR_CONNECTION)) is exceptions.ConnectionFailedError
    assert type(m(lib, _lib.ERR_TIMEOUT)) is exceptions.ConnectionTimeoutError
    assert type(m(lib, _lib.ERR_AMBIGUOUS)) is exceptions.AmbiguousOutcomeError
    e = m(lib, _lib.ERR_GRPC_OUT_OF_RANGE)
    assert type(e) is exceptions.RpcError and e.code() is exceptions.StatusCode.OUT_OF_RANGE
    assert isinstance(m(lib, _lib.ERR_COMPACTED), exceptions.RevisionCompactedError)
