"""Compiles lexicon files into the immutable structures the scanner reads.

Everything expensive happens here, once: normalization tables, alias expansion, ambiguity marks, the exact
index (`guard.exact`) and the fuzzy candidate index. Patterns and their entries are stored in columns
(`guard.tables`), so that a million aliases load in a fraction of a second. `guard.cache` stores the result
keyed by the lexicon content hash and the code version.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from guard import ambiguity, speedups
from guard.exact import build_index
from guard.expand import despaced, hangul_variants, is_latin, kana_variants, latin_variants, name_parts
from guard.fuzzy import FuzzyIndex
from guard.lexicon.loader import LoadedLexicon
from guard.normalize import SEPARATORS, Normalizer, script_of
from guard.tables import CodedColumn, Records, RowTable, StringColumn, WordScores, WordSet

COMPILER_VERSION = "2"

# Entry kinds. Character aliases: name (as in the lexicon), variant (generated spelling), partial (part of a
# multi-part name). Context: franchise (a franchise name), cue (a franchise or character cue word), title (a work
# from a title lexicon; `note` holds its id).
NAME, VARIANT, PARTIAL, FRANCHISE, CUE, TITLE = "name", "variant", "partial", "franchise", "cue", "title"
_KIND_RANK = {NAME: 0, VARIANT: 1, PARTIAL: 2}


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    char: int  # index into CompiledLexicon.characters, -1 for franchise context
    franchise: str
    alias: str  # the lexicon name this entry comes from, as written there
    lang: str
    note: str  # how the variant was generated
    ambiguous: Optional[str]  # why the alias needs context, or None
    # Languages (comma-separated) in whose prompts the alias reads as a word of the language and needs context
    # (ambiguity.prompt_language_words); None: none.
    word_in: Optional[str] = None


@dataclass(frozen=True, slots=True)
class CharacterInfo:
    id: str
    franchise: str
    rightsholder: Optional[str]
    descriptor: Optional[str]

    def __reduce__(self):
        return (type(self), (self.id, self.franchise, self.rightsholder, self.descriptor))


@dataclass(frozen=True, slots=True)
class FranchiseInfo:
    id: str
    name: str
    rightsholder: Optional[str]
    personal_names: bool = False


@dataclass(frozen=True, slots=True)
class PatternInfo:
    left: str  # script class of the first character
    right: str  # script class of the last character
    length: int
    has_sep: bool
    multipart: bool = False  # the despaced form of a name written in several parts (Hu Tao -> hutao)
    strict: bool = False  # a character alias here is ambiguous: katakana boundaries apply at any length
    syllables: int = 0  # a romanized Chinese name: how many syllables its hanzi spelling has (Baizhu, 白术: 2)

    def __reduce__(self):
        return (
            type(self),
            (self.left, self.right, self.length, self.has_sep, self.multipart, self.strict, self.syllables),
        )


# Per-pattern flags (CompiledLexicon.flags).
HAS_CHARACTER, HAS_CONTEXT, HAS_TITLE = 1, 2, 4


@dataclass
class CompiledLexicon:
    digest: str
    characters: Records  # of CharacterInfo, by index
    franchises: dict[str, FranchiseInfo]
    patterns: StringColumn
    entries: RowTable  # per pattern, a tuple of Entry
    info: CodedColumn  # per pattern, its PatternInfo
    fuzzy: FuzzyIndex
    common: WordScores  # everyday Latin-script words -> zipf x 10
    normalizer: Normalizer
    flags: bytes = b""  # per pattern: HAS_CHARACTER | HAS_CONTEXT | HAS_TITLE
    alias_count: int = 0  # character entries over all patterns
    everyday: frozenset = frozenset()  # everyday English words (see ambiguity.everyday_english)
    typo_free: WordSet = field(default_factory=lambda: WordSet.of(()))  # vocabulary words with no typo match (_typo_free)
    name_parts: frozenset = frozenset()  # the words of Latin multi-word character names (yae, miko, iron, bundle)
    # Everyday words of ambiguity.REGIONAL_LANGS that are typos of names ("ombak"), and the words that say a prompt
    # is in one of those languages; both word -> bit mask of languages (see Scanner._fuzzy_hits).
    regional: dict = field(default_factory=dict)
    regional_markers: dict = field(default_factory=dict)
    exact_kind: str = "auto"
    exact: object = field(default=None, repr=False)  # see guard.exact
    # With the C kernels: `common` and `typo_free` as the typo pass looks them up (speedups' KnownWords), built
    # here so that a start from the cache maps it rather than hashing 445k words.
    known_words: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.exact is None:
            self.exact = build_index(self.patterns, self.exact_kind)
            self.exact_kind = self.exact.kind

    def __getstate__(self) -> dict:
        state = {k: getattr(self, k) for k in self.__dataclass_fields__}
        state["normalizer"] = self.normalizer.to_state()
        if self.exact_kind == "automaton":  # cannot be pickled: rebuilt on load
            state["exact"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        state["normalizer"] = Normalizer.from_state(state["normalizer"])
        for k, v in state.items():
            setattr(self, k, v)
        self.__post_init__()  # an automaton is not pickled: rebuild it


def _edge_script(text: str, first: bool) -> str:
    chars = text if first else reversed(text)
    for c in chars:
        # The long-vowel mark ー (a katakana-block character) takes the script of the kana it lengthens (ごろー).
        if c not in SEPARATORS and c != "ー":
            s = script_of(c)
            return "latin" if s == "digit" else s
    return "other"


def _script_class(text: str) -> str:
    scripts = {script_of(c) for c in text if c not in SEPARATORS and c != "ー"}
    scripts.discard("digit")
    scripts.discard("other")
    if not scripts:
        return "other"
    if scripts <= {"kata"}:
        return "kata"
    if scripts <= {"hira", "kata"}:
        return "hira"
    if len(scripts) == 1:
        return scripts.pop()
    return "mixed"


class _Builder:
    def __init__(self, normalizer: Normalizer):
        self.nz = normalizer
        self.by_pattern: dict[str, list[Entry]] = {}
        self.multipart: set[str] = set()

    def norm(self, text: str) -> str:
        return self.nz.normalize(text).text

    def add(self, pattern: str, entry: Entry, *, surface: Optional[str] = None) -> None:
        """Add `pattern` (normalized) for `entry`, and the joined forms of a pattern in several parts.
        `surface`: the text the pattern was normalized from, for its own joined form (below)."""
        pattern = pattern.strip()
        if not pattern:
            return
        self.by_pattern.setdefault(pattern, []).append(entry)
        flat = despaced(pattern)
        if flat and flat != pattern:
            # Joining the parts can make a word whose homoglyphs fold: "ху tao" joins to "хуtao", which mixes
            # scripts, so a prompt's "ХуТао" folds to "xytao". (Only that step: leetspeak would fold "macross 7".)
            # It can also undo a fold: alone, "Гуан" is all look-alikes and folds to "ryah", but "Нингуан" is
            # a Cyrillic word and stays one, so the surface joined and normalized is a form of its own. Only for
            # surfaces of letters: joined digits would be read as leetspeak ("Porygon 2").
            joined_forms = [flat, self.nz.fold_homoglyphs(flat)]
            if surface is not None and all(c.isalpha() or c in SEPARATORS for c in surface):
                joined_forms.append(despaced(self.norm(despaced(surface))))
            for joined in dict.fromkeys(joined_forms):
                if joined:
                    self.by_pattern.setdefault(joined, []).append(entry)
                    self.multipart.add(joined)


def _resolve(entries: list[Entry]) -> tuple[Entry, ...]:
    """Keep what one pattern may safely mean. Names win over generated spellings of another character;
    generated spellings or partial names shared by two characters are dropped as unsafe."""
    seen: dict[tuple[int, str], Entry] = {}
    for e in entries:
        key = (e.char, "") if e.char >= 0 else (e.char, e.franchise, e.kind, e.note)
        old = seen.get(key)
        if old is None or _KIND_RANK.get(e.kind, 9) < _KIND_RANK.get(old.kind, 9):
            seen[key] = e
    entries = list(seen.values())
    context = [e for e in entries if e.char < 0]
    chars = [e for e in entries if e.char >= 0]
    if len({e.char for e in chars}) > 1:
        names = [e for e in chars if e.kind == NAME]
        chars = names  # only lexicon names may stay shared; generated forms are dropped
    return tuple(chars + context)


def compile_lexicon(loaded: LoadedLexicon, normalizer: Optional[Normalizer] = None, *, exact_kind: str = "auto") -> CompiledLexicon:
    """`exact_kind`: the exact index to use, "automaton", "hashed" or "auto" (by size; see guard.exact)."""
    nz = normalizer or Normalizer.build()
    b = _Builder(nz)
    characters: list[CharacterInfo] = []
    franchises: dict[str, FranchiseInfo] = {}

    for _path, lex in loaded.files:
        fr = lex.franchise
        franchises[fr.id] = FranchiseInfo(fr.id, fr.name, fr.rightsholder, fr.personal_names)
        for lang, values in fr.names.items():
            for v in values:
                b.add(b.norm(v), Entry(FRANCHISE, -1, fr.id, v, lang, "franchise name", None))
        for cue in fr.cues:
            b.add(b.norm(cue), Entry(CUE, -1, fr.id, cue, "", "franchise cue", None))

    for _path, tf in loaded.titles:
        for t in tf.titles:
            for text in [t.title, *t.synonyms]:
                n = b.norm(text)
                if len(despaced(n)) < 2:
                    continue
                if t.ambiguous is not None:
                    reason = "marked ambiguous in the lexicon" if t.ambiguous else None
                else:
                    reason = title_ambiguity(text, n)
                b.add(n, Entry(TITLE, -1, t.franchise or "", text, "", t.id, reason))

    syllables_of: list[int] = []  # per character: hanzi in its Chinese name
    partial_owner: dict[str, set[int]] = {}
    partial_entries: list[tuple[str, Entry]] = []
    for _path, lex in loaded.files:
        for rec in lex.characters:
            franchise = rec.franchise or lex.franchise.id
            if franchise not in franchises:
                franchises[franchise] = FranchiseInfo(franchise, franchise, rec.rightsholder)
            rightsholder = rec.rightsholder if rec.rightsholder is not None else franchises[franchise].rightsholder
            idx = len(characters)
            characters.append(CharacterInfo(rec.id, franchise, rightsholder, rec.descriptor))
            # Only people's names are romanized hanzi by hanzi (Baizhu = 白术); Pokémon names are not (Mewtwo, 超梦).
            hanzi = [v for v in rec.names.get("zh-Hans", []) if all(script_of(c) == "han" for c in v)]
            personal = franchises[franchise].personal_names
            syllables_of.append(len(hanzi[0]) if hanzi and personal else 0)
            forced = {b.norm(a) for a in rec.ambiguous}
            cleared = {b.norm(a) for a in rec.not_ambiguous}
            across = {b.norm(k): v for k, v in ambiguity.character_reasons(rec.names).items()}
            # (A franchise of personal names has its own rule for names used for people: `_person_context`.)
            words_in = ambiguity.prompt_language_words(rec.names, b.norm, folded_only=personal)

            def mark(surface: str, norm_text: str, lang: str, kind: str, inherited: Optional[str]) -> Optional[str]:
                if norm_text in cleared:
                    return None
                if norm_text in forced:
                    return "marked ambiguous in the lexicon"
                if inherited:
                    return inherited
                if norm_text in across:
                    return across[norm_text]
                return ambiguity.auto_reason(surface, norm_text, _script_class(norm_text), lang, kind)

            names = [(lang, v, None) for lang, values in rec.names.items() for v in values]
            names += [(a.lang or "", a.text, a.ambiguous) for a in rec.alias_records()]
            for lang, surface, explicit in names:
                n = b.norm(surface)
                if explicit is True:
                    reason: Optional[str] = "marked ambiguous in the lexicon"
                elif explicit is False:
                    reason = None
                else:
                    reason = mark(surface, n, lang, NAME, None)
                word_in = words_in.get(n) if reason is None else None
                b.add(n, Entry(NAME, idx, franchise, surface, lang, "lexicon name", reason, word_in), surface=surface)
                variants: list[tuple[str, str]] = []
                if is_latin(n):
                    variants += latin_variants(n)
                elif lang.startswith("ja"):
                    variants += kana_variants(surface, b.norm)
                elif lang.startswith("ko"):
                    variants += hangul_variants(n)
                for v, note in variants:
                    if v == n:
                        continue
                    vreason = mark(v, v, "ja-Latn" if note == "romaji" else lang, VARIANT, reason)
                    if note in ("hiragana", "katakana spelling") and len(v) < 3:
                        continue
                    b.add(v, Entry(VARIANT, idx, franchise, surface, lang, note, vreason))
            for part, lang, note in name_parts(rec.names, b.norm):
                compact = despaced(part)
                if (is_latin(part) and len(compact) < 4) or len(compact) < 2:
                    continue
                partial_owner.setdefault(part, set()).add(idx)
                reason = mark(part, part, lang, PARTIAL, None)
                partial_entries.append((part, Entry(PARTIAL, idx, franchise, surface_of(rec.names, lang), lang, note, reason)))
            for cue in rec.cues:
                b.add(b.norm(cue), Entry(CUE, idx, franchise, cue, "", "character cue", None))

    for part, entry in partial_entries:
        if len(partial_owner[part]) == 1:
            b.add(part, entry)

    patterns: list[str] = []
    entries: list[tuple[Entry, ...]] = []
    info_codes: list[int] = []
    shared_info: dict[tuple, int] = {}  # a few hundred distinct values: stored once each
    for pattern, es in b.by_pattern.items():
        resolved = _resolve(es)
        if not resolved:
            continue
        patterns.append(pattern)
        entries.append(resolved)
        key = (
            _edge_script(pattern, True),
            _edge_script(pattern, False),
            len(pattern),
            any(c in SEPARATORS for c in pattern),
            pattern in b.multipart,
            any(e.char >= 0 and e.ambiguous is not None for e in resolved),
            _syllables(pattern, resolved, syllables_of),
        )
        info_codes.append(shared_info.setdefault(key, len(shared_info)))
    infos = [PatternInfo(*key) for key in shared_info]
    info = CodedColumn.of(infos, info_codes)

    fuzzy_targets = []
    multi_word_parts: set[str] = set()
    for i, (p, es) in enumerate(zip(patterns, entries)):
        # Latin names written with a typographic separator count too: "sirfetch’d" has the parts sirfetch and d.
        if not (p.isascii() or all(c.isascii() or c in SEPARATORS for c in p)) or not any(e.char >= 0 for e in es):
            continue
        if not info[i].has_sep:
            if p.isalpha() and len(p) >= 5:
                fuzzy_targets.append((p, i))
        else:
            multi_word_parts.update(w for w in _NOT_LETTERS.split(p) if w)
    common = ambiguity.common_words(b.norm)
    # The index breaks ties between equally close aliases by their order: English names first, then the other
    # lexicon names, then romanizations and generated forms, as prompts most often name characters ("Kingra" is
    # Kingdra, not Kingler's romaji "Kingura"; "Dartri" is Dartrix, not Fletchling's German "Dartiri").
    fuzzy_targets.sort(key=lambda target: _typo_target_rank(entries[target[1]]))
    fuzzy = FuzzyIndex.build(fuzzy_targets)
    # A word of a multi-word name is never "typo-free": the scanner must see it to look for a typo in the words
    # next to it (Tapu Kok). Only the uncommon ones matter; common ones (iron, great) are not looked at either way.
    typo_free = _typo_free(ambiguity.vocabulary_words(b.norm).difference(common).difference(multi_word_parts), fuzzy)
    regional_all = ambiguity.regional_words(b.norm)
    regional_typos = set(regional_all).difference(common, typo_free, multi_word_parts)
    regional = {w: regional_all[w] for w in regional_typos.difference(_typo_free(regional_typos, fuzzy))}
    # The typo pass skips these words; the C kernel reads them from one array of hashes (see Scanner).
    known_words = speedups.kernels.KnownWords(common, typo_free) if speedups.kernels is not None and len(fuzzy) else None
    return CompiledLexicon(
        loaded.digest, Records.of(((c.id, c.franchise, c.rightsholder, c.descriptor) for c in characters), CharacterInfo),
        franchises, StringColumn.of(patterns),
        RowTable.build(([_entry_row(e) for e in es] for es in entries), Entry, ints=(1,)),
        info, fuzzy, WordScores.of(common), nz,
        flags=bytes(_flags(es) for es in entries),
        alias_count=sum(1 for es in entries for e in es if e.char >= 0),
        everyday=ambiguity.everyday_english(b.norm),
        typo_free=WordSet.of(typo_free),
        name_parts=frozenset(multi_word_parts),
        regional=regional,
        regional_markers=ambiguity.regional_markers(b.norm) if regional else {},
        exact_kind=exact_kind,
        known_words=known_words,
    )


_NOT_LETTERS = re.compile(r"[^a-z]+")


def _typo_target_rank(entries: tuple[Entry, ...]) -> int:
    names = [e.lang for e in entries if e.kind == NAME and e.char >= 0]
    if "en" in names:
        return 0
    return 1 if any(not lang.endswith("-Latn") for lang in names) else 2


def _typo_free(words: set[str], fuzzy: FuzzyIndex) -> frozenset:
    """The words that the typo index matches to no alias. A prompt word among them needs no lookup: the
    answer is known. (Exactly the lookups the scanner would make, done once here.)"""
    ordered = sorted(words)
    free = []
    for i in range(0, len(ordered), 2000):
        batch = ordered[i : i + 2000]
        free.extend(w for w, hit in zip(batch, fuzzy.lookup_many(batch)) if hit is None)
    return frozenset(free)


def _entry_row(e: Entry) -> tuple:
    """An entry's fields in constructor order, as RowTable stores them."""
    return (e.kind, e.char, e.franchise, e.alias, e.lang, e.note, e.ambiguous, e.word_in)


def _flags(es: tuple[Entry, ...]) -> int:
    flags = 0
    if any(e.char >= 0 for e in es):
        flags |= HAS_CHARACTER
    if any(e.char < 0 or e.kind == CUE for e in es):
        flags |= HAS_CONTEXT
    if any(e.kind == TITLE for e in es):
        flags |= HAS_TITLE
    return flags


def _syllables(pattern: str, entries: tuple[Entry, ...], syllables_of: list[int]) -> int:
    """Syllable count of a romanized Chinese name (one hanzi, one syllable), so that "Bai Zhu" split at its
    syllables is not taken for two English words."""
    if not (pattern.isascii() and pattern.isalpha()):
        return 0
    counts = {syllables_of[e.char] for e in entries if e.char >= 0 and e.kind == NAME}
    return counts.pop() if len(counts) == 1 else 0


def title_ambiguity(text: str, norm_text: str) -> Optional[str]:
    """Titles that are everyday words ("MAJOR", 秘密) or very short are reported only as candidates."""
    compact = despaced(norm_text)
    script = _script_class(norm_text)
    if (script == "latin" and len(compact) <= 3) or (script != "latin" and len(compact) <= 1):
        return "very short title"
    return ambiguity.auto_reason(text, norm_text, script, "", TITLE)


def surface_of(names: dict[str, list[str]], lang: str) -> str:
    values = names.get(lang) or names.get("en") or next(iter(names.values()))
    return values[0]
