"""The compiled-lexicon cache: a second start loads from it; a stale key or a corrupt or truncated file is
rebuilt, never trusted."""
from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

import guard.cache as cache
from guard.compiler import CompiledLexicon
from guard.lexicon.loader import load_lexicons

LEXICON = """\
version: 1
franchise:
  id: cacheverse
  name: Cacheverse
  names:
    en: [Cacheverse]
characters:
  - id: cacheverse/widget
    names:
      en: [Widgetron]
      ja: [ウィジェトロン]
"""


@pytest.fixture
def lexicon(tmp_path: Path) -> Path:
    p = tmp_path / "lex" / "cacheverse.yaml"
    p.parent.mkdir()
    p.write_text(LEXICON, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def compiled_once(tmp_path_factory) -> CompiledLexicon:
    """One real compilation of LEXICON; the rebuild tests hand out this object instead of compiling again."""
    p = tmp_path_factory.mktemp("lex") / "cacheverse.yaml"
    p.write_text(LEXICON, encoding="utf-8")
    return cache.compile_lexicon(load_lexicons([p]))


@pytest.fixture
def compiles(monkeypatch, compiled_once) -> list:
    """Counts compilations by compile_cached (each returns the precompiled lexicon)."""
    calls: list = []

    def fake(loaded, normalizer=None):
        calls.append(loaded.digest)
        return compiled_once

    monkeypatch.setattr(cache, "compile_lexicon", fake)
    return calls


def _valid_file(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(cache.MAGIC)) == cache.MAGIC


def test_first_start_compiles_and_stores_the_second_loads(lexicon, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    loaded = load_lexicons([lexicon])
    real = cache.compile_lexicon
    calls = []
    monkeypatch.setattr(cache, "compile_lexicon", lambda ld, normalizer=None: calls.append(1) or real(ld, normalizer))
    first = cache.compile_cached(loaded, cache_dir=cache_dir)
    path = cache.cache_path(loaded, cache_dir)
    assert calls == [1] and path.exists() and _valid_file(path)

    def must_not_compile(*_a, **_k):
        raise AssertionError("compiled although a valid cache file exists")

    monkeypatch.setattr(cache, "compile_lexicon", must_not_compile)
    second = cache.compile_cached(load_lexicons([lexicon]), cache_dir=cache_dir)
    assert second is not first
    assert second.patterns == first.patterns and second.digest == first.digest
    assert [e for es in second.entries for e in es] == [e for es in first.entries for e in es]


def test_guard_second_start_uses_the_cache(lexicon, tmp_path, monkeypatch):
    from guard import Guard

    cache_dir = tmp_path / "cache"
    g1 = Guard.from_paths([lexicon], cache_dir=cache_dir)
    assert list(cache_dir.glob("lexicon-*.pickle"))
    monkeypatch.setattr(cache, "compile_lexicon", lambda *a, **k: pytest.fail("recompiled on the second start"))
    g2 = Guard.from_paths([lexicon], cache_dir=cache_dir)
    for text in ("Widgetron on a shelf", "ウィジェトロンの絵", "a widget"):
        assert [m.to_dict() for m in g2.scan(text)] == [m.to_dict() for m in g1.scan(text)]
    assert [m.character_id for m in g2.scan("Widgetron on a shelf")] == ["cacheverse/widget"]


def test_stale_key_is_rebuilt(lexicon, tmp_path, compiles, compiled_once, caplog):
    cache_dir = tmp_path / "cache"
    loaded = load_lexicons([lexicon])
    path = cache.cache_path(loaded, cache_dir)
    path.parent.mkdir(parents=True)
    # The right file name, but the key inside says it was built from something else.
    cache.store(path, "0" * 32, compiled_once)
    with caplog.at_level(logging.WARNING, logger="guard.cache"):
        out = cache.compile_cached(loaded, cache_dir=cache_dir)
    assert compiles == [loaded.digest] and out is compiled_once
    assert "ignoring unusable lexicon cache" in caplog.text and "key mismatch" in caplog.text
    assert cache.load_cached(path, cache.cache_key(loaded)) is not None  # rewritten with the right key


def _truncated(valid: bytes) -> bytes:
    return valid[: len(valid) // 2]


def _with_header(valid: bytes, **fields) -> bytes:
    """The file with fields of its fixed header (stream, count, table) replaced."""
    at = len(cache.MAGIC)
    stream, count, table = cache._FIXED.unpack_from(valid, at)
    values = {"stream": stream, "count": count, "table": table, **fields}
    return valid[:at] + cache._FIXED.pack(values["stream"], values["count"], values["table"]) + valid[at + cache._FIXED.size :]


def _first_buffer_at(valid: bytes, offset: int) -> bytes:
    """The file with its first out-of-band buffer said to start at `offset`."""
    table = cache._FIXED.unpack_from(valid, len(cache.MAGIC))[2]
    length = cache._SPAN.unpack_from(valid, table)[1]
    return valid[:table] + cache._SPAN.pack(offset, length) + valid[table + cache._SPAN.size :]


CORRUPTIONS = {
    "stream longer than the file": lambda valid: _with_header(valid, stream=len(valid)),
    "stream of a terabyte": lambda valid: _with_header(valid, stream=1 << 40),
    "table past the end": lambda valid: _with_header(valid, table=len(valid) + 4096),
    "more buffers than the table holds": lambda valid: _with_header(valid, count=cache._FIXED.unpack_from(valid, len(cache.MAGIC))[1] + 1),
    "buffer inside the stream": lambda valid: _first_buffer_at(valid, 0),
    "buffer off a page boundary": lambda valid: _first_buffer_at(valid, cache._FIXED.unpack_from(valid, len(cache.MAGIC))[2] - 8),
    "old format": lambda valid: b"character-guard-cache\n" + pickle.dumps(("0" * 32, None)),
    "empty": lambda valid: b"",
    "magic only": lambda valid: cache.MAGIC,
    "truncated": _truncated,
    "truncated by one byte": lambda valid: valid[:-1],
    "garbage after magic": lambda valid: cache.MAGIC + b"\x80\x05garbage" * 10,
    "wrong magic": lambda valid: b"not-a-cache-file\n" + valid[len(cache.MAGIC):],
    "random bytes": lambda valid: bytes(range(256)) * 4,
}


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_corrupt_or_truncated_file_is_rebuilt(lexicon, tmp_path, compiles, compiled_once, corrupt):
    cache_dir = tmp_path / "cache"
    loaded = load_lexicons([lexicon])
    key = cache.cache_key(loaded)
    path = cache.cache_path(loaded, cache_dir)
    cache.store(path, key, compiled_once)
    valid = path.read_bytes()
    assert cache.load_cached(path, key) is not None
    path.write_bytes(CORRUPTIONS[corrupt](valid))
    assert cache.load_cached(path, key) is None  # never raises, never trusts
    out = cache.compile_cached(loaded, cache_dir=cache_dir)
    assert out is compiled_once and compiles == [loaded.digest]
    assert path.read_bytes() == valid or cache.load_cached(path, key) is not None


def test_right_key_wrong_object_is_rebuilt(lexicon, tmp_path, compiles):
    cache_dir = tmp_path / "cache"
    loaded = load_lexicons([lexicon])
    key = cache.cache_key(loaded)
    path = cache.cache_path(loaded, cache_dir)
    cache.store(path, key, {"not": "a compiled lexicon"})
    cache.compile_cached(loaded, cache_dir=cache_dir)
    assert compiles == [loaded.digest]


def test_key_follows_lexicon_content_and_code_version(lexicon, tmp_path, monkeypatch, compiles):
    cache_dir = tmp_path / "cache"
    before = load_lexicons([lexicon])
    cache.compile_cached(before, cache_dir=cache_dir)
    lexicon.write_text(LEXICON.replace("[Widgetron]", "[Widgetron, Widgy]"), encoding="utf-8")
    after = load_lexicons([lexicon])
    assert cache.cache_key(after) != cache.cache_key(before)
    cache.compile_cached(after, cache_dir=cache_dir)
    assert compiles == [before.digest, after.digest]  # the old file was not used for the new content

    old_path = cache.cache_path(after, cache_dir)
    monkeypatch.setattr(cache, "code_version", lambda: "a-newer-compiler")
    assert cache.cache_path(after, cache_dir) != old_path
    cache.compile_cached(after, cache_dir=cache_dir)
    assert len(compiles) == 3


def test_unwritable_cache_dir_still_compiles(lexicon, tmp_path, compiles, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be", encoding="utf-8")
    loaded = load_lexicons([lexicon])
    with caplog.at_level(logging.WARNING, logger="guard.cache"):
        out = cache.compile_cached(loaded, cache_dir=blocker / "cache")
    assert isinstance(out, CompiledLexicon) and compiles == [loaded.digest]
    assert "could not write lexicon cache" in caplog.text


def test_use_cache_false_never_touches_the_disk(lexicon, tmp_path, compiles):
    cache_dir = tmp_path / "cache"
    cache.compile_cached(load_lexicons([lexicon]), cache_dir=cache_dir, use_cache=False)
    assert compiles and not cache_dir.exists()


def test_large_arrays_are_mapped_read_only_and_outlive_the_file(lexicon, tmp_path, compiled_once):
    """The typo index's arrays are views of the file's pages, not copies, and cannot be written; the lexicon
    stays usable when the file is replaced (as `store` does) or removed."""
    from guard import Guard

    cache_dir = tmp_path / "cache"
    Guard.from_paths([lexicon], cache_dir=cache_dir)
    path = next(cache_dir.glob("lexicon-*.pickle"))
    stream_len, count, table = cache._FIXED.unpack_from(path.read_bytes(), len(cache.MAGIC))
    assert count >= 2 and table > stream_len  # the typo index's keys and targets at least
    g = Guard.from_paths([lexicon], cache_dir=cache_dir)
    keys = g.compiled.fuzzy.keys
    assert len(keys) and not keys.flags.writeable and not keys.flags.owndata
    with pytest.raises(ValueError):
        keys[0] = 1
    before = [m.to_dict() for m in g.scan("Widgetrom on a shelf")]
    assert [m["character_id"] for m in before] == ["cacheverse/widget"]  # a typo: the index was read
    cache.store(path, "0" * 32, compiled_once)  # a new file over the old one
    path.unlink()
    assert [m.to_dict() for m in g.scan("Widgetrom on a shelf")] == before


def test_the_scanner_uses_the_known_words_of_the_cache(lexicon, tmp_path):
    """With the kernels, the words the typo pass skips come from the cache, mapped, not hashed at each start."""
    from guard import Guard, speedups

    cache_dir = tmp_path / "cache"
    Guard.from_paths([lexicon], cache_dir=cache_dir)
    g = Guard.from_paths([lexicon], cache_dir=cache_dir)
    known = g.compiled.known_words
    if speedups.kernels is None:
        assert known is None and g.scanner._known_words == (frozenset(g.compiled.common), frozenset(g.compiled.typo_free))
        return
    assert g.scanner._known_words == (known,) and len(known) > 100_000
    assert "photorealistic" in known and "electric" in known and "widgetron" not in known
    assert memoryview(known).readonly
    assert [m.character_id for m in g.scan("photorealistic Widgetrom, electric")] == ["cacheverse/widget"]


def test_a_compiled_lexicon_copies_and_pickles_with_any_protocol(compiled_once):
    """Its tables may be mapped from a cache file; it still deep-copies, and pickles below protocol 5 (the default
    of pickle and multiprocessing before Python 3.14)."""
    import copy

    from guard.matcher import Scanner

    expected = [m.to_dict() for m in Scanner(compiled_once).scan("Widgetrom and ウィジェトロン")]
    assert len(expected) == 2
    for other in (copy.deepcopy(compiled_once), pickle.loads(pickle.dumps(compiled_once, protocol=4))):
        assert [m.to_dict() for m in Scanner(other).scan("Widgetrom and ウィジェトロン")] == expected


def test_a_file_system_that_cannot_map_files_reads_the_buffers(lexicon, tmp_path, monkeypatch):
    from guard import Guard

    cache_dir = tmp_path / "cache"
    mapped = Guard.from_paths([lexicon], cache_dir=cache_dir)

    def cannot_map(*_a, **_k):
        raise OSError(19, "No such device")

    monkeypatch.setattr(cache, "_map_readonly", cannot_map)
    monkeypatch.setattr(cache, "compile_lexicon", lambda *a, **k: pytest.fail("recompiled instead of reading the file"))
    read = Guard.from_paths([lexicon], cache_dir=cache_dir)
    assert not read.compiled.fuzzy.keys.flags.writeable
    for text in ("Widgetrom on a shelf", "ウィジェトロンの絵", "photorealistic widget"):
        assert [m.to_dict() for m in read.scan(text)] == [m.to_dict() for m in mapped.scan(text)]
