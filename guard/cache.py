"""On-disk cache of compiled lexicons, keyed by lexicon content hash and code version.

A cache file that is stale, truncated or otherwise unreadable is rebuilt, never trusted: the key is checked
inside the file as well as in its name, and any error while loading falls back to compiling.

A file is the pickle of (key, CompiledLexicon) with its large numeric arrays (the typo index, the hashed
index) stored out of band, each at a page boundary after the pickle stream. Loading maps those pages
read-only instead of copying them: at a million aliases that is 170 MB not read through a buffer and not
copied, and the processes of one server share the pages. A cache file is therefore never rewritten in place:
`store` writes a new file and renames it over the old one, so a running process keeps the pages it mapped.

    MAGIC | stream length, buffer count, table offset (3 x u64) | pickle stream | buffers | table (offset, length)
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import mmap
import os
import pickle
import struct
import tempfile
from pathlib import Path
from typing import Optional

from guard import speedups
from guard.compiler import COMPILER_VERSION, CompiledLexicon, compile_lexicon
from guard.lexicon.loader import LoadedLexicon

log = logging.getLogger("guard.cache")
MAGIC = b"character-guard-cache 2\n"
_FIXED = struct.Struct("<QQQ")  # pickle stream length, number of buffers, offset of the buffer table
_SPAN = struct.Struct("<QQ")  # a buffer's offset and length
_PAGE = mmap.ALLOCATIONGRANULARITY  # buffers start on a page: a mapping must, and so do the arrays' rows
_MAX_BUFFERS = 1 << 16
_CODE_FILES = (
    "normalize.py", "compiler.py", "expand.py", "ambiguity.py", "fuzzy.py", "exact.py", "tables.py", "lexicon/schema.py",
    "speedups.py", "latin_lang.py",
)
# The C source of the kernels that normalize aliases at compile time; a wheel carries only the built module.
_OPTIONAL_CODE_FILES = ("_speedups.c",)


def _hash_code() -> str:
    h = hashlib.sha256(COMPILER_VERSION.encode())
    here = Path(__file__).parent
    for name in _CODE_FILES:
        h.update((here / name).read_bytes())
    for name in _OPTIONAL_CODE_FILES:
        if (here / name).exists():
            h.update((here / name).read_bytes())
    # With and without the kernels a lexicon of the same size may get a different exact index (AUTOMATON_LIMIT),
    # and the file holds tables the kernels made (KnownWords' hashes): a wheel carries no _speedups.c to hash.
    h.update(f"kernels {speedups.API_VERSION}".encode() if speedups.kernels is not None else b"pure Python")
    return h.hexdigest()[:16]


# Hashed once, when the compiler is imported: the key must describe the code this process runs, even if the
# files change on disk afterwards.
_CODE_VERSION = _hash_code()


def code_version() -> str:
    return _CODE_VERSION


def default_cache_dir() -> Path:
    env = os.environ.get("GUARD_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "character-guard"


def cache_key(loaded: LoadedLexicon | str) -> str:
    """Key of a compiled lexicon: its lexicon digest (a LoadedLexicon or the digest itself) and the code."""
    digest = loaded if isinstance(loaded, str) else loaded.digest
    return hashlib.sha256(f"{digest}:{code_version()}".encode()).hexdigest()[:32]


def cache_path(loaded: LoadedLexicon | str, cache_dir: Optional[Path] = None) -> Path:
    return (cache_dir or default_cache_dir()) / f"lexicon-{cache_key(loaded)}.pickle"


def load_compiled(digest: str, cache_dir: Optional[Path] = None) -> Optional[CompiledLexicon]:
    """The cached compile of the lexicons with this digest (see loader.lexicon_digest), or None."""
    return load_cached(cache_path(digest, cache_dir), cache_key(digest))


def load_cached(path: Path, key: str) -> Optional[CompiledLexicon]:
    try:
        with open(path, "rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC:
                raise ValueError("not a character-guard cache file")
            stream, buffers = _read_frames(fh)
        stored_key, compiled = _load_without_gc(stream, buffers)
        if stored_key != key or not isinstance(compiled, CompiledLexicon):
            raise ValueError("cache key mismatch")
        return compiled
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - any unreadable cache is rebuilt
        log.warning("ignoring unusable lexicon cache %s: %s", path, exc)
        return None


def _read_exactly(fh, n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise ValueError("truncated cache file")
    return data


def _read_frames(fh) -> tuple[bytes, list]:
    """The pickle stream, and its out-of-band buffers as read-only views of the file's mapped pages."""
    stream_len, count, table_at = _FIXED.unpack(_read_exactly(fh, _FIXED.size))
    size = os.fstat(fh.fileno()).st_size
    if count > _MAX_BUFFERS or stream_len > size:  # checked before anything is read or allocated by them
        raise ValueError("bad cache file header")
    stream = _read_exactly(fh, stream_len)
    end = fh.tell()
    if table_at < end or table_at + count * _SPAN.size != size:
        raise ValueError("truncated cache file")
    fh.seek(table_at)
    table = _read_exactly(fh, count * _SPAN.size)
    spans = [_SPAN.unpack_from(table, i * _SPAN.size) for i in range(count)]
    for offset, length in spans:
        if offset < end or offset % _PAGE or offset + length > table_at:
            raise ValueError("bad buffer table")
        end = offset + length
    if not spans or end == spans[0][0]:
        return stream, [b""] * count
    first = spans[0][0]
    try:
        mapped = _map_readonly(fh, first, end - first)
    except (OSError, ValueError):  # a file system that cannot map files: read the buffers instead
        fh.seek(first)
        mapped = _read_exactly(fh, end - first)
    view = memoryview(mapped)
    return stream, [view[offset - first : offset - first + length] for offset, length in spans]


def _map_readonly(fh, offset: int, length: int) -> mmap.mmap:
    if hasattr(mmap, "MAP_POPULATE"):  # Linux: map every page now, so that no request pays for a page fault
        flags = mmap.MAP_SHARED | mmap.MAP_POPULATE
        return mmap.mmap(fh.fileno(), length, flags=flags, prot=mmap.PROT_READ, offset=offset)
    return mmap.mmap(fh.fileno(), length, access=mmap.ACCESS_READ, offset=offset)


def _load_without_gc(stream: bytes, buffers: list):
    """Unpickle with the cyclic garbage collector paused: a compiled lexicon is up to millions of small objects,
    and the collections their creation triggers cost about a third of the load time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(stream, buffers=buffers)
    finally:
        if enabled:
            gc.enable()


def store(path: Path, key: str, compiled: CompiledLexicon) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as fh:
                _write_frames(fh, (key, compiled))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        log.warning("could not write lexicon cache %s: %s", path, exc)


def _write_frames(fh, obj) -> None:
    buffers: list[pickle.PickleBuffer] = []
    fh.write(MAGIC)
    fixed_at = fh.tell()
    fh.write(_FIXED.pack(0, 0, 0))
    start = fh.tell()
    pickle.Pickler(fh, protocol=5, buffer_callback=buffers.append).dump(obj)
    stream_len = fh.tell() - start
    spans = []
    for buf in buffers:
        raw = buf.raw()
        offset = -(-fh.tell() // _PAGE) * _PAGE
        fh.seek(offset)
        fh.write(raw)
        spans.append(_SPAN.pack(offset, raw.nbytes))
    table_at = fh.tell()
    fh.write(b"".join(spans))
    fh.seek(fixed_at)
    fh.write(_FIXED.pack(stream_len, len(spans), table_at))


def compile_cached(loaded: LoadedLexicon, *, cache_dir: Optional[Path] = None, use_cache: bool = True) -> CompiledLexicon:
    if not use_cache:
        return compile_lexicon(loaded)
    key = cache_key(loaded)
    path = cache_path(loaded, cache_dir)
    compiled = load_cached(path, key)
    if compiled is None:
        compiled = compile_lexicon(loaded)
        store(path, key, compiled)
    return compiled
