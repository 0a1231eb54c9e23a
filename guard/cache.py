"""On-disk cache of compiled lexicons, keyed by lexicon content hash and code version.

A cache file that is stale, truncated or otherwise unreadable is rebuilt, never trusted: the key is checked
inside the file as well as in its name, and any error while loading falls back to compiling.
"""
from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Optional

from guard import speedups
from guard.compiler import COMPILER_VERSION, CompiledLexicon, compile_lexicon
from guard.lexicon.loader import LoadedLexicon

log = logging.getLogger("guard.cache")
MAGIC = b"character-guard-cache\n"
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
    # With and without the kernels a lexicon of the same size may get a different exact index (AUTOMATON_LIMIT).
    h.update(b"kernels" if speedups.kernels is not None else b"pure Python")
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
            stored_key, compiled = _load_without_gc(fh)
        if stored_key != key or not isinstance(compiled, CompiledLexicon):
            raise ValueError("cache key mismatch")
        return compiled
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - any unreadable cache is rebuilt
        log.warning("ignoring unusable lexicon cache %s: %s", path, exc)
        return None


def _load_without_gc(fh):
    """Unpickle with the cyclic garbage collector paused: a compiled lexicon is up to millions of small objects,
    and the collections their creation triggers cost about a third of the load time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.load(fh)
    finally:
        if enabled:
            gc.enable()


def store(path: Path, key: str, compiled: CompiledLexicon) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC)
            pickle.dump((key, compiled), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not write lexicon cache %s: %s", path, exc)


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
