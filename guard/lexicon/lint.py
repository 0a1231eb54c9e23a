"""`guard lexicon lint`: checks that make lexicon edits safe.

It works on what the scanner will see: the lexicon files are loaded and compiled (through the compiled cache),
so collisions are found after normalization and the ambiguity marks are the compiler's own.

Checks (code: severity):
- `invalid`: a file that does not load (syntax, schema, duplicate ids): error, naming file, line and field.
- `format`: a file that the canonical writer would change (see `guard.lexicon.canonical`): error, because
  every tool rewrites files canonically and the next edit would carry unrelated changes; `--fix` rewrites.
- `shared-alias`: one compiled pattern names two characters (also when the spellings differ only before
  normalization: case, width, diacritics, traditional/simplified Chinese, long vowels). The scanner reports
  every one of them for each mention. An error when the characters belong to different franchises or
  rightsholders (a mention would be attributed to the wrong owner); a warning within one franchise and
  rightsholder, where the owner is right and only the character is unclear (Nidoran♀ / Nidoran♂).
- `context-collision`: a character name is also a franchise name, a cue or a title: warning for lexicon
  names, note for generated spellings. The mention is found, and it also counts as context.
- `common-word`: a name that is a common word in some language, with the languages and zipf frequencies.
  A note when the compiler marks it ambiguous (it then needs context) or the lexicon keeps it unambiguous on
  purpose (`not_ambiguous`, `ambiguous: false`); otherwise a warning from the compiler's own thresholds
  (zipf 3.5 for alphabetic words, 4.0 for Chinese, Japanese and Korean) and an error from zipf 5.0.
- `short-alias`: a name of two letters or fewer, or a single Chinese, Japanese or Korean character: error
  when it would match without context, note when it is marked ambiguous. A single hanzi that is rare on its
  own and inside words (魈, zipf 2) is a note, with the words it occurs in: the scanner matches such names
  anywhere by design; a common one (空) or one that is part of common words (荧 of 荧光) is an error.
- `missing-name`: a character without a name in a main language (en, ja, zh-Hans, ko): warning.
- `unused-override`: an `ambiguous` / `not_ambiguous` entry that is none of the character's names, aliases or
  generated spellings, so it does nothing: warning.
- `redundant-alias`: an alias equal to one of the character's names after normalization: note.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

from guard import ambiguity
from guard.errors import LexiconError
from guard.expand import despaced
from guard.lexicon.loader import LoadedLexicon, bundled_lexicon_dir, expand_paths, load_file, load_lexicons
from guard.lexicon.schema import LexiconFile
from guard.normalize import script_of

PathLike = Union[str, Path]

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}
MAIN_LANGS = ("en", "ja", "zh-Hans", "ko")
# Languages whose word lists the common-word check reads, besides the compiler's own (ambiguity.LATIN_LANGS and
# CJK_LANGS) and the languages the lexicons have names in.
EXTRA_WORD_LANGS = ("nl", "sv", "pl", "id", "tr", "vi", "ru")
REPORT_ZIPF = 3.0  # below this a word is not worth a note
ERROR_ZIPF = 5.0  # unmarked names this frequent fire on everyday text: "perlu" (id, "need") is 5.95

CODES = ("invalid", "format", "shared-alias", "context-collision", "common-word", "short-alias", "missing-name", "unused-override", "redundant-alias")


@dataclass(frozen=True)
class Issue:
    severity: str
    code: str
    path: str
    line: Optional[int]
    message: str
    character: Optional[str] = None

    def format(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        who = f"{self.character}: " if self.character else ""
        return f"{where}: {self.severity} [{self.code}] {who}{self.message}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LintReport:
    files: list[Path]
    issues: list[Issue] = field(default_factory=list)
    fixed: list[Path] = field(default_factory=list)

    def count(self, severity: str) -> int:
        return sum(1 for i in self.issues if i.severity == severity)

    def failed(self, strict: bool = False) -> bool:
        return self.count(ERROR) > 0 or (strict and self.count(WARNING) > 0)

    def summary(self) -> str:
        return (
            f"{len(self.files)} file(s): {self.count(ERROR)} error(s), {self.count(WARNING)} warning(s), "
            f"{self.count(INFO)} note(s)" + (f"; rewrote {len(self.fixed)} file(s) in canonical form" if self.fixed else "")
        )

    def to_json(self) -> str:
        return json.dumps(
            {"files": [str(f) for f in self.files], "issues": [i.to_dict() for i in self.issues],
             "errors": self.count(ERROR), "warnings": self.count(WARNING), "notes": self.count(INFO)},
            ensure_ascii=False, indent=2,
        )


# -- where things are -------------------------------------------------------------------------------------
_ID_LINE = re.compile(r"^(\s*)-\s+id:\s*['\"]?([^'\"\s#]+)")
_KEY_LINE = re.compile(r"^(\s*)([A-Za-z][A-Za-z0-9_-]*):")


class _Lines:
    """Line numbers of character records and their keys, from a quick scan of the text (no YAML parse)."""

    def __init__(self, text: str):
        self.char: dict[str, int] = {}
        self.keys: dict[tuple[str, str], int] = {}  # (character id, "names.en" | "aliases" | ...) -> line
        self.franchise: Optional[int] = None
        current, indent, stack = None, 0, []
        for no, line in enumerate(text.splitlines(), 1):
            m = _ID_LINE.match(line)
            if m and line.lstrip().startswith("- "):
                current, indent, stack = m.group(2), len(m.group(1)) + 2, []
                self.char.setdefault(current, no)
                continue
            if line.startswith("franchise:"):
                self.franchise = no
            k = _KEY_LINE.match(line)
            if current is None or not k:
                continue
            depth = len(k.group(1))
            if depth < indent:
                current = None
                continue
            stack = [(d, name) for d, name in stack if d < depth]
            stack.append((depth, k.group(2)))
            self.keys.setdefault((current, ".".join(name for _, name in stack)), no)

    def of(self, cid: str, key: Optional[str] = None) -> Optional[int]:
        if key is not None and (cid, key) in self.keys:
            return self.keys[(cid, key)]
        return self.char.get(cid)


# -- the checks -------------------------------------------------------------------------------------------
def word_langs(loaded: Optional[LoadedLexicon]) -> list[str]:
    """Languages for the common-word check: the compiler's, a few more, and those the lexicons have names in,
    where wordfreq has a word list."""
    from wordfreq import available_languages

    have = available_languages(wordlist="best")
    langs = list(ambiguity.LATIN_LANGS) + list(ambiguity.CJK_LANGS) + list(EXTRA_WORD_LANGS)
    if loaded is not None:
        for _p, lex in loaded.files:
            for c in lex.characters:
                for tag in c.names:
                    langs.append(tag.split("-")[0])
    out = []
    for lang in langs:
        if lang in have and lang not in out:
            out.append(lang)
    return out


def _script(norm_text: str) -> str:
    scripts = {script_of(c) for c in norm_text if not c.isspace() and script_of(c) not in ("digit", "other")}
    if not scripts:
        return "other"
    if scripts <= {"latin"}:
        return "latin"
    if scripts <= {"han", "hangul", "kata", "hira"}:
        return "cjk"
    return "alpha"


def _too_short(norm_text: str) -> Optional[str]:
    compact = despaced(norm_text)
    script = _script(norm_text)
    if script in ("latin", "alpha") and len(compact) <= 2:
        return f"{len(compact)} letter(s)"
    if script == "cjk" and len(compact) <= 1:
        return "a single character"
    return None


_HANZI_WORDS: Optional[dict[str, list[tuple[float, str]]]] = None


def _words_with_hanzi(ch: str) -> list[tuple[float, str]]:
    """(zipf, word) of the Chinese and Japanese words of zipf 2 or more that contain `ch`, most frequent first."""
    global _HANZI_WORDS
    if _HANZI_WORDS is None:
        import math

        index: dict[str, list[tuple[float, str]]] = {}
        for lang in ("zh", "ja"):
            for word, f in ambiguity._freqs(lang).items():
                if f < 1e-7:
                    break
                if len(word) > 1:
                    z = round(math.log10(f) + 9, 2)
                    for c in set(word):
                        if script_of(c) == "han":
                            index.setdefault(c, []).append((z, word))
        for v in index.values():
            v.sort(reverse=True)
        _HANZI_WORDS = index
    return _HANZI_WORDS.get(ch, [])


def _rare_single_hanzi(norm_text: str) -> Optional[str]:
    """For a one-hanzi name that is rare on its own and inside words (魈; not 空 or 荧 of 荧光), the words it
    occurs in (to show); None otherwise. The scanner matches such a name anywhere: it is as safe as its rarity."""
    compact = despaced(norm_text)
    if len(compact) != 1 or script_of(compact) != "han":
        return None
    limit = getattr(ambiguity, "SINGLE_HAN_WORD", 3.0)
    if ambiguity.max_zipf(compact, ambiguity.CJK_LANGS)[0] >= limit:
        return None
    words = _words_with_hanzi(compact)
    if words and words[0][0] >= limit:
        return None
    return f" (also in: {', '.join(f'{w} {z}' for z, w in words[:3])})" if words else ""


def _zipfs(word: str, langs: Sequence[str]) -> list[tuple[float, str]]:
    out = [(ambiguity.zipf(word, lang), lang) for lang in langs]
    return sorted(((z, lang) for z, lang in out if z >= REPORT_ZIPF), reverse=True)


def _warn_zipf(norm_text: str) -> float:
    return ambiguity.CJK_WORD if _script(norm_text) == "cjk" else ambiguity.LATIN_WORD


def lint(
    paths: Optional[Sequence[PathLike]] = None,
    *,
    require_langs: Sequence[str] = MAIN_LANGS,
    check_format: bool = True,
    fix: bool = False,
    langs: Optional[Sequence[str]] = None,
    ignore: Iterable[str] = (),
    cache_dir: Optional[Path] = None,
    use_cache: bool = True,
) -> LintReport:
    from guard.cache import compile_cached

    ignore = set(ignore)
    files = expand_paths(paths if paths else [bundled_lexicon_dir()])
    report = LintReport(files)
    issues: list[Issue] = []

    # 1. Load. The common case, every file valid, loads once; otherwise each file is tried on its own.
    loaded: Optional[LoadedLexicon] = None
    try:
        loaded = load_lexicons(files)
    except LexiconError as whole:
        good, characters = [], False
        for f in files:
            try:
                characters |= isinstance(load_file(f), LexiconFile)
                good.append(f)
            except LexiconError as exc:
                issues.append(Issue(ERROR, "invalid", exc.path, exc.line, (f"{exc.field}: " if exc.field else "") + exc.message))
        if len(good) == len(files) and not characters:
            pass  # only title lexicons: nothing to compile, the format check still applies
        elif len(good) == len(files):  # every file loads alone: the problem is between files
            issues.append(Issue(ERROR, "invalid", whole.path, whole.line, (f"{whole.field}: " if whole.field else "") + whole.message))
        elif characters:
            try:
                loaded = load_lexicons(good)
            except LexiconError as exc:
                issues.append(Issue(ERROR, "invalid", exc.path, exc.line, exc.message))
    invalid = {Path(i.path) for i in issues}

    # 2. Canonical form.
    if check_format:
        from guard.lexicon.canonical import canonical_text, first_difference, write_validated

        for f in files:
            if f in invalid:
                continue
            text = f.read_text(encoding="utf-8")
            try:
                canon = canonical_text(text)
            except Exception as exc:  # noqa: BLE001 - reported, never fatal
                issues.append(Issue(ERROR, "format", str(f), None, f"cannot re-dump the file: {exc}"))
                continue
            line = first_difference(text, canon)
            if line is None:
                continue
            if fix:
                write_validated(f, canon)
                report.fixed.append(f)
            else:
                issues.append(Issue(ERROR, "format", str(f), line, "not in canonical form (first difference on this line); `guard lexicon lint --fix` rewrites it"))

    if loaded is not None:
        compiled = compile_cached(loaded, cache_dir=cache_dir, use_cache=use_cache)
        issues.extend(_check_compiled(loaded, compiled, require_langs, langs if langs is not None else word_langs(loaded)))

    issues = [i for i in issues if i.code not in ignore]
    issues.sort(key=lambda i: (i.path, i.line or 0, SEVERITY_RANK[i.severity], i.code, i.message))
    report.issues = issues
    return report


def _check_compiled(loaded: LoadedLexicon, compiled, require_langs: Sequence[str], langs: Sequence[str]) -> list[Issue]:
    from guard.compiler import CUE, FRANCHISE, NAME

    norm = compiled.normalizer.normalize
    issues: list[Issue] = []
    where: dict[str, tuple[str, _Lines]] = {}
    records = {}
    for path, lex in loaded.files:
        lines = _Lines(path.read_text(encoding="utf-8"))
        for c in lex.characters:
            where[c.id] = (str(path), lines)
            records[c.id] = (lex, c)
    chars = compiled.characters
    index = {c.id: i for i, c in enumerate(chars)}

    def at(cid: str, key: Optional[str] = None) -> tuple[str, Optional[int]]:
        path, lines = where[cid]
        return path, lines.of(cid, key)

    def name_key(cid: str, surface: str) -> Optional[str]:
        _lex, rec = records[cid]
        for tag, values in rec.names.items():
            if surface in values:
                return f"names.{tag}"
        return "aliases"

    def describe(e) -> str:
        if e.char >= 0:
            return f"{e.alias!r} ({chars[e.char].id}{', ' + e.kind if e.kind != NAME else ''})"
        if e.kind == FRANCHISE:
            return f"franchise name {e.alias!r} of {e.franchise}"
        if e.kind == CUE:
            return f"cue {e.alias!r} of {e.franchise}"
        return f"{e.kind} {e.alias!r} ({e.note}{', ' + e.franchise if e.franchise else ''})"

    patterns_of: dict[int, set[str]] = {}
    for pattern, es in zip(compiled.patterns, compiled.entries):
        owners = [e for e in es if e.char >= 0 and e.kind != CUE]
        for e in owners:
            patterns_of.setdefault(e.char, set()).add(pattern)
        if not owners:
            continue
        distinct = sorted({e.char for e in owners})
        first = chars[distinct[0]].id
        if len(distinct) > 1:
            surfaces = {e.alias.casefold() for e in owners}
            how = "compile to the same pattern" + (" after normalization" if len(surfaces) > 1 else "")
            # Across franchises or rightsholders a mention would be attributed to the wrong owner: an error.
            # Within one franchise and rightsholder (Nidoran♀ / Nidoran♂) the owner is right and only the
            # character is unclear: a warning.
            owners_of = {(chars[c].franchise, chars[c].rightsholder) for c in distinct}
            sev = ERROR if len(owners_of) > 1 else WARNING
            path, line = at(first, name_key(first, owners[0].alias))
            issues.append(Issue(sev, "shared-alias", path, line,
                                f"{' and '.join(describe(e) for e in owners)} {how}, {pattern!r}: "
                                f"a mention is reported as each of them" + ("" if sev == ERROR else " (same franchise and rightsholder)"), first))
        others = [e for e in es if e.char < 0 or (e.kind == CUE and e.char not in distinct)]
        if others:
            for e in owners:
                cid = chars[e.char].id
                sev = WARNING if e.kind == NAME else INFO
                path, line = at(cid, name_key(cid, e.alias) if e.kind == NAME else None)
                issues.append(Issue(sev, "context-collision", path, line,
                                    f"{describe(e)} is also {', '.join(describe(o) for o in others[:3])}"
                                    f"{' and more' if len(others) > 3 else ''}: it is found as a mention and also counts as context", cid))

    # Names as written in the lexicon, with the compiler's marks.
    seen: set[tuple[int, str, str]] = set()
    for pattern, es in zip(compiled.patterns, compiled.entries):
        for e in es:
            if e.char < 0 or e.kind != NAME or (e.char, e.alias, e.lang) in seen:
                continue
            n = norm(e.alias).text.strip()
            if n != pattern:
                continue  # the despaced copy of a pattern; the spaced one is checked
            seen.add((e.char, e.alias, e.lang))
            cid = chars[e.char].id
            _lex, rec = records[cid]
            cleared = {norm(a).text for a in rec.not_ambiguous}
            explicit_false = any(a.text == e.alias and a.ambiguous is False for a in rec.alias_records())
            kept = n in cleared or explicit_false
            path, line = at(cid, name_key(cid, e.alias))
            short = _too_short(n)
            rare = _rare_single_hanzi(n) if short else None
            if short:
                if e.ambiguous is None and rare is not None:
                    issues.append(Issue(INFO, "short-alias", path, line,
                                        f"{e.alias!r} is a single rare character; it matches without context{rare}", cid))
                elif e.ambiguous is None:
                    issues.append(Issue(ERROR, "short-alias", path, line,
                                        f"{e.alias!r} is {short}: too short to match safely without context; remove it or mark it ambiguous", cid))
                else:
                    issues.append(Issue(INFO, "short-alias", path, line, f"{e.alias!r} is {short}; it matches only with context ({e.ambiguous})", cid))
            zs = _zipfs(e.alias, langs)
            if zs:
                freq = ", ".join(f"{lang} {z}" for z, lang in zs[:5])
                top = zs[0][0]
                if e.ambiguous is not None:
                    issues.append(Issue(INFO, "common-word", path, line, f"{e.alias!r} is a common word ({freq}); marked ambiguous: {e.ambiguous}", cid))
                elif kept:
                    issues.append(Issue(INFO, "common-word", path, line, f"{e.alias!r} is a common word ({freq}); kept unambiguous by the lexicon", cid))
                elif top >= ERROR_ZIPF:
                    issues.append(Issue(ERROR, "common-word", path, line,
                                        f"{e.alias!r} is a very common word ({freq}) and is not marked ambiguous: it would match everyday text; "
                                        f"add it to `ambiguous` (or to `not_ambiguous` to keep it on purpose)", cid))
                elif top >= _warn_zipf(n):
                    issues.append(Issue(WARNING, "common-word", path, line,
                                        f"{e.alias!r} is a common word ({freq}) and is not marked ambiguous; "
                                        f"add it to `ambiguous`, or to `not_ambiguous` to confirm", cid))
                else:
                    issues.append(Issue(INFO, "common-word", path, line, f"{e.alias!r} is a fairly frequent word ({freq}); not marked ambiguous", cid))

    for cid, (_lex, rec) in records.items():
        path, line = at(cid, "names")
        missing = [t for t in require_langs if t not in rec.names]
        if missing:
            issues.append(Issue(WARNING, "missing-name", path, line, "no name in " + ", ".join(missing), cid))
        idx = index.get(cid)
        mine = patterns_of.get(idx, set()) if idx is not None else set()
        for key in ("ambiguous", "not_ambiguous"):
            for value in getattr(rec, key):
                if norm(value).text not in mine and despaced(norm(value).text) not in mine:
                    p, ln = at(cid, key)
                    issues.append(Issue(WARNING, "unused-override", p, ln,
                                        f"{key} entry {value!r} is none of the character's names, aliases or generated spellings; it has no effect", cid))
        name_norms = {norm(v).text: v for values in rec.names.values() for v in values}
        for a in rec.alias_records():
            if norm(a.text).text in name_norms:
                p, ln = at(cid, "aliases")
                issues.append(Issue(INFO, "redundant-alias", p, ln, f"alias {a.text!r} is the name {name_norms[norm(a.text).text]!r} after normalization", cid))
    return issues
