"""The per-prompt scan: normalization, one exact-index pass, boundary rules, fuzzy typos, and context.

Nothing here does I/O or builds anything; it only reads the `CompiledLexicon`.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import Counter
from functools import partial
from itertools import combinations
from operator import attrgetter
from typing import Optional, Sequence

from guard import speedups
from guard.ambiguity import REGIONAL_EVIDENCE, REGIONAL_LANGS
from guard.compiler import CUE, FRANCHISE, HAS_CHARACTER, HAS_CONTEXT, HAS_TITLE, NAME, PARTIAL, TITLE, CompiledLexicon, Entry
from guard.latin_lang import stated_latin_lang
from guard.models import Match, new_match
from guard.normalize import (
    LEET_LETTERS,
    LEET_TOKEN_CHARS,
    SEPARATOR_BITMAP,
    SEPARATORS,
    SYMBOL_SEPARATOR,
    fold_kana,
    is_number_with_unit,
    remove_separators,
    run_around,
    script_of,
    separator_cut_list,
    separator_cuts,
)
from guard.normalize import is_katakana_or_long
from guard.normalize import is_latin_or_digit as _is_latin_or_digit  # shared with guard.exact
from guard.spans import DisjointSpans, SpanIndex

# Korean particles that may follow a name inside one word: 피카츄가, 라이츄와, 호두에게는.
_PARTICLES = (
    "가 이 은 는 을 를 와 과 의 에 도 만 랑 이랑 하고 에게 에게서 에서 한테 한테서 께 께서 서 로 으로 로서 으로서 "
    "로써 처럼 보다 까지 부터 만큼 마다 야 아 여 이여 이다 다 입니다 이에요 예요 이야 들 님 씨 라는 이라는 란 이란 "
    "같은 같이 조차 마저 뿐 밖에 나 이나 든지 이든지 요 의의"
).split()
_PARTICLE_SUFFIXES = frozenset(_PARTICLES) | frozenset(a + b for a in _PARTICLES for b in _PARTICLES)

# Japanese writes particles and verb endings in hiragana right against a noun (弾くごろー, どりーの), so a
# hiragana neighbour alone does not join a short hiragana name to a word. Before the name, the hiragana must
# be one of these and follow a kanji or katakana stem (弾く, 猫の): hiragana words end in these kana too
# (なにこれー, はとぽっぽ, いただくま), and a name that starts with a particle reads as one (でもここ). Right
# after a kanji, hiragana is the word's own ending (初めての, 食らった), so the name is not found there. After
# it, the hiragana must be a particle or start a word that follows nouns (これいいね and どりーむ are not
# names).
_HIRA_BEFORE_NOUN = frozenset("のがとはをにでへやなくうるつすむぶぐぬただい")
_HIRA_AFTER_NOUN = frozenset("のがとはをにでもへやかよねだ")
# A name may start with a kana that is also a particle (やどん, だげき) right after a verb's dictionary ending
# (弾くやどん), and nowhere else: after a particle it is one (でもここ is でも and ここ, not もここ), and after
# い or た it often ends a noun or an adjective (匂いもここ, 赤いだりあ). Not with も, which follows verbs as
# "even if" (降るもここは晴れ).
_HIRA_VERB_END = frozenset("うくすつぬぶむるぐ")
_HIRA_AFTER_VERB = _HIRA_AFTER_NOUN - frozenset("も")
_HIRA_NOUN_SUFFIXES = ("ちゃん", "さん", "くん", "さま", "たち", "って", "まで", "じゃ", "みたい", "っぽ", "など", "しか", "こそ", "ばかり", "くらい", "ぐらい")
# Verb endings in hiragana that a noun can follow (座っているごろー, 泳いでいたどりー): the progressive and its past,
# after a verb whose stem is a kanji or katakana. The kana right before the name is then not after the stem, so
# the stem test of the particles cannot see that they end a word. (Not する or した: everyday hiragana words follow
# them as often as names do, 告白したあいの言葉, 恋するあいの歌.)
_HIRA_VERB_ENDINGS = ("ている", "ていた", "でいる", "でいた", "てる", "でる", "てた", "でた")

# The hanzi that may stand right before and right after a one-character Chinese name that is also a common
# character (strict): particles, conjunctions and prepositions. Not 的 after it: 空的 is "empty", 琴的 "the
# zither's". Not verbs either: most also start nouns (空走廊, 空看台, 琴站台) or, folded, Japanese words (空笑い).
_HAN_BEFORE_NAME = frozenset("的和与跟同及或给让对向把被")
_HAN_AFTER_NAME = frozenset("和与跟同及或在是正把被也都就说")
if speedups.kernels is not None:  # the C boundary rules take the same lists
    speedups.kernels.set_boundary_words(
        "".join(sorted(_HIRA_BEFORE_NOUN)), "".join(sorted(_HIRA_AFTER_NOUN)), _HIRA_NOUN_SUFFIXES,
        "".join(sorted(_HAN_BEFORE_NAME)), "".join(sorted(_HAN_AFTER_NAME)), _HIRA_VERB_ENDINGS,
        "".join(sorted(_HIRA_VERB_END)), "".join(sorted(_HIRA_AFTER_VERB)),
    )

# Runs of ASCII letters and digits of four or more; the fuzzy pass keeps the all-letter ones. (Leading with a
# character class lets `re` skip non-Latin text at C speed, which a look-behind would prevent.)
_LATIN_RUN = re.compile(r"[a-z0-9]{4,}")


def _latin_word_set(t: str) -> set[str]:
    """The distinct words of `latin_words(t)`."""
    return {w for w in _LATIN_RUN.findall(t) if w.isalpha()}


def _rare_latin_words_py(t: str, common, typo_free) -> list[tuple[int, int, str]]:
    """(start, end, word) of each word of `latin_words(t)` that is in neither `common` nor `typo_free`, in
    text order. Nearly every word is an everyday one: they are looked up all at once, then the few others are
    found in the text."""
    rare = _latin_word_set(t).difference(common).difference(typo_free)
    if not rare:
        return []
    return sorted((s, s + len(w), w) for w in rare for s in _word_positions(t, w))


# A Latin word with a letter masked by an asterisk inside it (P*kachu); see Scanner._masked_hits.
# A word with one masked letter, or two apart (P*k*chu). Two side by side read too many everyday words as names
# (co**ee as Combee, we**ing as Weezing: a third more than one mask), and stand for bold in Markdown.
_MASKED_WORD = re.compile(r"(?<![a-z0-9*])[a-z]+(?:\*[a-z]+\*|\*)[a-z]+(?![a-z0-9*])")
_MASKED_MIN = 5  # with its mask: shorter words are too short for the typo index once the mask is removed
_TWO_MASKS_MIN = 6  # and with two: four letters or more left to read
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_MASKED = "a letter masked by an asterisk"


def _mask_readings(word: str) -> list[str]:
    """What the typo index is asked for a masked word: the word without its mask, or, with two, the word with the
    first filled by each letter and the second removed (a deletion of the name, which the index holds)."""
    first = word.find("*")
    second = word.find("*", first + 1)
    if second < 0:
        return [word[:first] + word[first + 1 :]]
    head, middle, tail = word[:first], word[first + 1 : second], word[second + 1 :]
    return [head + letter + middle + tail for letter in _LETTERS]


def _fills_masks(word: str, name: str) -> bool:
    """Whether `name` has the letters of `word` (as long) wherever `word` has no mask."""
    for a, b in zip(word, name):
        if a != "*" and a != b:
            return False
    return True


# Words of two letters or more, not the pieces after an apostrophe ("ve" of "I've", "s" of "it's").
_MARKER_WORD = re.compile(r"(?<![a-z'\u2019])[a-z]{2,}")
REGIONAL_LANG_COUNT = len(REGIONAL_LANGS)


def _not_regional_everyday(t: str, found: list, regional: dict, markers: dict) -> list:
    """`found` without the words that are everyday words of the prompt's own language, for the languages whose
    words are typos of names only in prompts written in another (ambiguity.REGIONAL_LANGS): "ombak" in an
    Indonesian prompt is a wave, in an English one a typo of Noivern's "omban". The prompt is taken to be in a
    language when at least REGIONAL_EVIDENCE distinct other words of it are marker words of that language
    (ambiguity.regional_markers)."""
    masks = [regional.get(w, 0) for _s, _e, w in found]
    if not any(masks):
        return found
    evidence = [0] * REGIONAL_LANG_COUNT
    for word in set(_MARKER_WORD.findall(t)):  # distinct words: "a gun, gun and gun" is one
        m = markers.get(word)
        if m:
            for bit in range(REGIONAL_LANG_COUNT):
                if m >> bit & 1:
                    evidence[bit] += 1
    out = []
    for hit, mask in zip(found, masks):
        if mask:
            own = markers.get(hit[2], 0)  # the word itself is no evidence
            if any(mask >> bit & 1 and evidence[bit] - (own >> bit & 1) >= REGIONAL_EVIDENCE for bit in range(REGIONAL_LANG_COUNT)):
                continue
        out.append(hit)
    return out


_accept_hits = speedups.kernels.accept_hits if speedups.kernels is not None else None

# The same results in one C pass, when the kernels are built.
_rare_latin_words = speedups.kernels.rare_latin_words if speedups.kernels is not None else _rare_latin_words_py


def latin_words(t: str):
    """(word, start, end) of each all-letter Latin word of four letters or more in normalized text `t`: the
    words the typo matcher looks at."""
    for m in _LATIN_RUN.finditer(t):
        word = m.group(0)
        if word.isalpha():
            yield word, m.start(), m.end()

# A personal name used for a person: "a girl named Layla", "Emilie, a florist", "リサという名前の女の子".
_NAMED_BEFORE = re.compile(
    r"(?:\bnamed|\bcalled|\bnicknamed|\bnamens|\bnommee?|\bappelee?|\bllamad[ao]|\bchiamat[ao]|\bchamad[ao]|名前は|名は|[个位名我他她]叫|叫[做作]|名为|이름은)\s*$"
)
_PERSON_AFTER = re.compile(r"^(?:\s*,\s*(?:a|an|my|our|his|her|their|un|une|ein|eine|una|uno|um|uma)\s|という|って名前|이라는 이름|라는 이름)")

_MATCH_ORDER = attrgetter("start", "end", "character_id")

_METHOD = {NAME: "exact", "variant": "variant", PARTIAL: "partial"}
_ONE_AS_L = "leetspeak 1 read as l"
_TAIL_AS_LETTER = "leetspeak ! or | at the end read as a letter"
_CAPITAL_AS_LETTER = "capital homoglyph read as the letter it looks like"
_MIXED_CAPITALS_MAX = 64  # capitals read as l in one prompt, beyond which their mixes are not searched
_SCORE = {NAME: 1.0, "variant": 0.95, PARTIAL: 0.85}


def _is_kata(c: str) -> bool:
    # The middle dot ・ (U+30FB) and the double hyphen ゠ sit in the katakana block but separate words.
    return ("\u30a1" <= c <= "\u30ff" and c != "\u30fb") or "\u31f0" <= c <= "\u31ff"


def _is_hira(c: str) -> bool:
    return "\u3040" <= c <= "\u309f"


def _is_han(c: str) -> bool:
    return "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"


def _is_hangul(c: str) -> bool:
    """A Hangul syllable. Jamo left standing after normalization composed the rest are emoticons (ㅋㅋ, ㅠㅠ), which
    end a word: 피카츄ㅋㅋㅋ names Pikachu."""
    return "\uac00" <= c <= "\ud7a3"


def _hira_noun_start(t: str, s: int) -> bool:
    """Whether a short hiragana name at t[s], after a hiragana, can start a word: that hiragana ends a kanji or
    katakana word (a particle or an ending) or a verb's progressive (`_HIRA_VERB_ENDINGS`), and the name does
    not start with a particle kana except after a verb's dictionary ending (_HIRA_VERB_END, _HIRA_AFTER_VERB)."""
    if s < 2 or t[s - 1] not in _HIRA_BEFORE_NOUN:
        return False
    if t[s] in _HIRA_AFTER_NOUN and not (t[s - 1] in _HIRA_VERB_END and t[s] in _HIRA_AFTER_VERB):
        return False
    stem = t[s - 2]
    if _is_han(stem) or _is_kata(stem):
        return True
    for ending in _HIRA_VERB_ENDINGS:
        if t.endswith(ending, 0, s):
            # The verb's stem, a kanji or katakana, within two characters before the ending (座っている, 見てる):
            # in running hiragana (まってたこれー, しってるあいの) the ending is no evidence of a word's end.
            k = s - len(ending)
            for j in range(max(0, k - 2), k):
                if _is_han(t[j]) or _is_kata(t[j]):
                    return True
            return False
    return False


def boundary_ok(t: str, s: int, e: int, left: str, right: str, length: int, *, strict: bool = False) -> bool:
    """Whether a hit at t[s:e] stands on word boundaries appropriate to its scripts.

    Katakana names of five or more characters may sit inside a longer katakana word (ピカチュウカフェ), unless
    the name is `strict` (an ambiguous word: ファイヤー inside キャンプファイヤー is a campfire)."""
    before = t[s - 1] if s > 0 else ""
    after = t[e] if e < len(t) else ""
    kata_len = 0 if strict else length
    if left == "latin":
        if before and _is_latin_or_digit(before):
            return False
    elif left == "kata":
        if kata_len < 5 and before and _is_kata(before):
            return False
    elif left == "hira":
        if length <= 3 and before and (
            _is_kata(before) or _is_han(before) or (_is_hira(before) and not _hira_noun_start(t, s))
        ):
            return False
    elif left == "hangul":
        if before and _is_hangul(before):
            return False
    elif left == "han" and length == 1 and strict:
        # A one-character name that is also a common character, next to another hanzi, is part of a word
        # (空 in 浮空岛 and 天空), unless that hanzi is a particle or conjunction that stands next to nouns
        # (原神：琴和丽莎, 元素爆发的琴). Rare ones (魈) are not strict and match anywhere.
        if (before and _is_han(before) and before not in _HAN_BEFORE_NAME) or (
            after and _is_han(after) and after not in _HAN_AFTER_NAME
        ):
            return False
    if right == "latin":
        if after and _is_latin_or_digit(after):
            return False
    elif right == "hira":
        if length <= 3 and after and _is_hira(after) and after not in _HIRA_AFTER_NOUN and not t.startswith(_HIRA_NOUN_SUFFIXES, e):
            return False
    elif right == "kata":
        if kata_len < 5 and after and _is_kata(after):
            return False
    elif right == "hangul":
        if after and _is_hangul(after):
            end = e
            while end < len(t) and _is_hangul(t[end]):
                end += 1
            if t[e:end] not in _PARTICLE_SUFFIXES:
                return False
    return True


class _Candidate:
    __slots__ = ("s", "e", "pid", "method", "score", "note", "extra_ambiguity", "norm")

    def __init__(self, s: int, e: int, pid: int, method: Optional[str], score: Optional[float], note: str = "",
                 extra: Optional[str] = None, norm: Optional[str] = None):
        self.s, self.e, self.pid = s, e, pid
        self.method, self.score, self.note = method, score, note
        self.extra_ambiguity = extra
        self.norm = norm  # its normalized spelling, when a second reading found it (not the normalized text's)


class Scanner:
    """Finds character mentions. Immutable after construction; safe to share between threads."""

    def __init__(self, compiled: CompiledLexicon):
        self.c = compiled
        self._normalize = compiled.normalizer.normalize
        self._find = compiled.exact.find
        self._find_pair = compiled.exact.find_pair
        # The hashed index leaves out windows inside Latin words, so it needs to know where separators were.
        self._needs_breaks = compiled.exact.kind == "hashed"
        self._entries = getattr(compiled.entries, "groups", compiled.entries)  # a RowTable's: dict lookups
        self._infos, self._info_codes = compiled.info.values, compiled.info.codes
        self._flags = compiled.flags
        self._has_fuzzy = len(compiled.fuzzy) > 0
        self._name_parts = compiled.name_parts
        # A word longer than this is no typo of a name part (two edits at most).
        self._longest_part_typo = max(map(len, self._name_parts), default=0) + 2
        self._edges = speedups.edge_table(self._infos) if speedups.kernels is not None else b""
        # The C automaton applies the boundary rules as it searches; the hashed index and ahocorasick-rs do not.
        self._native = getattr(compiled.exact, "native", None) if self._edges else None
        self._accept_rules = (self._info_codes, self._info_codes.itemsize, self._edges, self._flags, _PARTICLE_SUFFIXES)
        # The words the typo pass skips. The C kernel reads them from one array of hashes: a set lookup costs
        # three cache misses per word once the server's own work has evicted the sets (docs/benchmarks.md).
        self._known_words: tuple = ()
        if self._has_fuzzy and speedups.kernels is not None:
            known = compiled.known_words  # None if the lexicon was compiled without the kernels
            if known is None:
                known = speedups.kernels.KnownWords(compiled.common, compiled.typo_free)
            self._known_words = (known,)
        elif self._has_fuzzy:  # the pure-Python pass takes set differences, which need real sets
            self._known_words = (frozenset(compiled.common), frozenset(compiled.typo_free))
        self._regional = getattr(compiled, "regional", None) or None
        self._capitals = capital_homoglyphs(compiled.normalizer.homoglyphs)
        # Franchises whose names are also people's names: a mention used for a person needs corroboration.
        self._personal_names = frozenset(fid for fid, fr in compiled.franchises.items() if fr.personal_names)

    def scan(self, text: str, *, include_candidates: bool = False) -> list[Match]:
        return self.analyze(text, include_candidates=include_candidates)[0]

    def analyze(self, text: str, *, include_candidates: bool = False) -> tuple[list[Match], list[Match]]:
        """(character matches, title matches) in one pass."""
        matches, titles, _nt = self.analyze_normalized(text, include_candidates=include_candidates)
        return matches, titles

    def analyze_normalized(self, text: str, *, include_candidates: bool = False):
        """(character matches, title matches, the NormalizedText), for callers that reuse the normalization."""
        if not isinstance(text, str):
            raise TypeError(f"expected the prompt as str, got {type(text).__name__}")
        nt = self._normalize(text)
        t = nt.text
        entries, flags = self._entries, self._flags
        cands: list[_Candidate] = []
        context: dict[str, str] = {}  # franchise id -> evidence
        char_cues: dict[int, str] = {}
        context_spans: list[tuple[int, int]] = []
        title_hits: list[tuple[int, int, int]] = []

        accepted, joined_hits = self._exact_hits(t)
        for pid, s, e in accepted:
            f = flags[pid]
            if f & HAS_CONTEXT:
                self._note_context(entries[pid], context, char_cues)
                context_spans.append((s, e))
                if f & HAS_TITLE:
                    title_hits.append((s, e, pid))
            if f & HAS_CHARACTER:
                cands.append(_Candidate(s, e, pid, None, None))
        if "1" in text or (not text.isascii() and "i" in t and _has_other_one(text)):  # (a 1 read as i leaves an i)
            ones = _leet_ones(nt)
            if ones:  # K1ee, Fisch1: leetspeak's "1" stands for "l" as often as for "i"
                self._l_readings(t, [], ones, _ONE_AS_L, set(accepted), cands, context, char_cues, context_spans)
        if "!" in t or "|" in t:
            tails = _leet_tails(nt, self.c.common)
            if tails:  # D0r!, Azumar1||: normalization keeps a word's last ! or | as punctuation (Pikachu!)
                # Where the text as written names a character (D0ri!), the sign after it is punctuation.
                named = [(c.s, c.e) for c in cands]
                self._alt_hits(t, tails, _TAIL_AS_LETTER, set(accepted), cands, context, char_cues, context_spans, named)

        if nt.homoglyphs and self._capitals:
            subs = _capital_subs(nt, self._capitals)
            if subs:  # Νahida, Υoimiya: folded through the lower case (ν, υ), which looks like another letter
                # Ι and І read as i in the text already, as leetspeak ones do (ΙUΜΙΝΕ, ΝΙΝGUANG).
                self._l_readings(t, [sub for sub in subs if sub[1] != "l"], [j for j, c in subs if c == "l"],
                                 _CAPITAL_AS_LETTER, set(accepted), cands, context, char_cues, context_spans,
                                 mix_limit=_MIXED_CAPITALS_MAX)

        if nt.kana_tails:  # イ―ブイ, ゲンガ―が, ゲンガ一が: a dash or 一 after katakana, read as ー
            readings = [(j, window) for j in nt.kana_tails if (window := _katakana_window(t, j)) is not None]
            if readings:
                # A name must hold the mark, and where katakana follows it, the next one too: a dash that ends a
                # name before another katakana word joins two words (カポエラ—ダンサー is no カポエラー).
                covering = [(j, j + 2 if j + 1 < len(t) and _is_kata(t[j + 1]) else j + 1) for j, _ in readings]
                self._alt_hits(t, [(j, "ー") for j, _ in readings], _DASH_AS_LONG_VOWEL, set(accepted), cands, context,
                               char_cues, context_spans, covering=covering, windows=[w for _, w in readings])

        if "-" in t:
            groups, subs = _hyphen_groups(t)
            if subs:  # H0-0h, W0-Chi3n: parts too short to fold alone, read together as one leetspeak word
                known = set(accepted)
                self._alt_hits(t, subs, _HYPHEN_AS_LETTERS, known, cands, context, char_cues, context_spans,
                               covering=groups)
                as_l = [(j, "l") if t[j] == "1" else (j, c) for j, c in subs]  # and each 1 as l (Ting-1u)
                if as_l != subs:
                    self._alt_hits(t, as_l, _HYPHEN_AS_LETTERS, known, cands, context, char_cues, context_spans,
                                   covering=groups)

        if joined_hits:
            self._despaced_hits(t, joined_hits, cands, context, char_cues)

        chosen = _select(cands, entries)
        covered = [(c.s, c.e) for c in chosen] + context_spans
        self._fuzzy_hits(t, chosen, covered)

        # Unambiguous mentions are context for the other characters of their franchise (never for themselves).
        # (franchise -> the characters named unambiguously, in text order; the evidence is written when used)
        by_char: dict[str, dict[int, None]] = {}
        for cand in chosen:
            if cand.extra_ambiguity is None:
                for en in entries[cand.pid]:
                    if en.char >= 0 and en.ambiguous is None:
                        by_char.setdefault(en.franchise, {})[en.char] = None

        out: list[Match] = []
        prompt_lang: list = []  # the prompt's stated Latin language, found once (when a name asks for it)
        for cand in chosen:
            out.extend(self._matches(nt, cand, context, by_char, char_cues, include_candidates, prompt_lang))
        out.sort(key=_MATCH_ORDER)
        return out, self._titles(nt, title_hits, include_candidates), nt

    def _exact_hits(self, t: str) -> tuple[list, list]:
        """The exact index's hits in `t` that stand on word boundaries, and the hits of the joined text
        (separators removed) that have a separator inside them, in text positions."""
        # The joined text finds names broken up by separators. t is already folded (normalization folds long
        # vowels last, and folding twice changes nothing); only kana that removing separators brought together
        # can fold anew (long vowels, and kanji look-alikes of katakana: ピ・力・チュウ), so an ASCII text's joined
        # form is the text without its separators.
        native = self._native
        if native is not None and t.isascii():
            return native.find_with_joined(t, SEPARATOR_BITMAP, *self._accept_rules)
        flat = remove_separators(t) if len(t) > 2 else t
        joined = t if flat is t else fold_kana(flat)
        if native is not None:
            if joined == flat:  # one pass follows the text and its joined form
                return native.find_with_joined(t, SEPARATOR_BITMAP, *self._accept_rules)
            return native.find_accepted(t, *self._accept_rules), _spanning(native.find(joined), separator_cut_list(t))
        if joined == t:
            return self._on_boundaries(t, self._find(t)), []
        # Both texts are searched in one call, which the hashed index answers with one round of array operations.
        cuts = separator_cuts(t) if self._needs_breaks else None
        raw, joined_hits = self._find_pair(t, joined, cuts)
        if cuts is None and joined_hits and joined == flat and _all_in(joined_hits, raw):
            # Every joined hit can be one of the main pass's: none has a separator inside it. (With long vowels
            # folded, a hit of the text can be missing from the joined text, so the count proves nothing there.)
            joined_hits = []
        if joined_hits:
            joined_hits = _spanning(joined_hits, cuts.tolist() if cuts is not None else separator_cut_list(t))
        return self._on_boundaries(t, raw), joined_hits

    def _on_boundaries(self, t: str, raw: list) -> list:
        """The hits of `raw` that stand on word boundaries (`boundary_ok`) and whose pattern names something."""
        if self._edges:
            return _accept_hits(t, raw, *self._accept_rules)
        return self._on_boundaries_py(t, raw)

    def _on_boundaries_py(self, t: str, raw: list) -> list:
        """`_on_boundaries` without the C kernel."""
        infos, codes, flags = self._infos, self._info_codes, self._flags
        out = []
        for hit in raw:
            pid, s, e = hit
            inf = infos[codes[pid]]
            if flags[pid] and boundary_ok(t, s, e, inf.left, inf.right, inf.length, strict=inf.strict):
                out.append(hit)
        return out

    def _titles(self, nt, hits: list[tuple[int, int, int]], include_candidates: bool) -> list[Match]:
        if not hits:
            return []
        hits.sort(key=lambda h: (h[0] - h[1], h[0]))
        many = len(hits) > _FEW_SPANS  # a long prompt that repeats titles: by bisection, not title by title
        taken: list[tuple[int, int]] = []
        spans = DisjointSpans(max(h[1] for h in hits)) if many else None
        out: list[Match] = []
        for s, e, pid in hits:
            if spans.overlaps(s, e) if many else _overlaps_span(taken, s, e):
                continue
            os_, oe = nt.span(s, e)
            shown = False
            for en in self._entries[pid]:
                if en.kind != TITLE or (en.ambiguous is not None and not include_candidates):
                    continue
                fr = self.c.franchises.get(en.franchise)
                evidence = (f"title {en.note}",) + ((f"ambiguous ({en.ambiguous})",) if en.ambiguous else ())
                out.append(
                    new_match(
                        en.note, en.franchise, fr.rightsholder if fr else None, os_, oe, nt.original[os_:oe],
                        en.alias, "title", 1.0, nt.text[s:e], en.lang, en.ambiguous is None, evidence,
                    )
                )
                shown = True
            if shown:
                if many:
                    spans.add(s, e)
                else:
                    taken.append((s, e))
        out.sort(key=_MATCH_ORDER)
        return out

    # -- pieces -----------------------------------------------------------------------------------------
    def _l_readings(self, t: str, fixed: list[tuple[int, str]], ls: list[int], note: str, known: set, cands: list,
                    context: dict, char_cues: dict, context_spans: list, mix_limit: Optional[int] = None) -> None:
        """`_alt_hits` of `t` with the (position, letter) `fixed` put in, and the positions `ls`, which the text
        reads as i, read as l: all of them; none of them (when `fixed` puts something in); and in a word with a few
        of them, each mix of the two (F1sch1, ΙUΜΙΝΕ), unless there are more than `mix_limit` (each mix searches
        every such word again: not for a text written in them throughout)."""
        self._alt_hits(t, fixed + [(j, "l") for j in ls], note, known, cands, context, char_cues, context_spans)
        if not ls:
            return
        if fixed:
            self._alt_hits(t, fixed, note, known, cands, context, char_cues, context_spans)
        if mix_limit is None or len(ls) <= mix_limit:
            for mix in _mixed_ones(t, ls):
                self._alt_hits(t, fixed + [(j, "l") for j in mix], note, known, cands, context, char_cues, context_spans)

    def _alt_hits(self, t: str, subs: list[tuple[int, str]], note: str, known: set, cands: list, context: dict,
                  char_cues: dict, context_spans: list, blocked: Sequence[tuple[int, int]] = (),
                  covering: Sequence[tuple[int, int]] = (), windows: Optional[list[tuple[int, int]]] = None) -> None:
        """The exact hits of `t` with each (position, letter) of `subs` put in, that are not in `known` (the text's
        own hits and those of earlier readings; the new ones are added), that overlap no span of `blocked` and, if
        `covering` (sorted disjoint spans) is given, that hold one of its spans whole: characters become candidates
        (with `note`), context names count as context. Only the words around those positions are searched (a
        prompt tagged "1girl" would otherwise pay for a second pass over all of it), or the given `windows`."""
        entries, flags = self._entries, self._flags
        in_blocked = _overlap_test(blocked) if blocked else None
        cover_starts = [s for s, _ in covering]
        subs = sorted(subs)
        positions = [j for j, _ in subs]
        for a, b in _word_windows(t, positions) if windows is None else windows:
            inside = subs[bisect_left(positions, a) : bisect_left(positions, b)]
            window = _with_letters(t[a:b], [(j - a, c) for j, c in inside])
            for pid, s, e in self._exact_hits(window)[0]:
                hit = (pid, s + a, e + a)
                if hit in known or (in_blocked is not None and in_blocked(s + a, e + a)):
                    continue
                if covering:
                    k = bisect_left(cover_starts, s + a)
                    if k == len(covering) or covering[k][1] > e + a:
                        continue
                known.add(hit)
                f = flags[pid]
                if f & HAS_CONTEXT:
                    self._note_context(entries[pid], context, char_cues)
                    context_spans.append((s + a, e + a))
                if f & HAS_CHARACTER:
                    cands.append(_Candidate(s + a, e + a, pid, None, None, note, norm=window[s:e]))

    def _note_context(self, es: tuple[Entry, ...], context: dict[str, str], char_cues: dict[int, str]) -> None:
        for en in es:
            if en.kind == FRANCHISE:
                context.setdefault(en.franchise, f"franchise named: {en.alias!r}")
            elif en.kind == TITLE:
                if en.franchise and en.ambiguous is None:
                    context.setdefault(en.franchise, f"title named: {en.alias!r} ({en.note})")
            elif en.kind == CUE:
                if en.char >= 0:
                    char_cues.setdefault(en.char, f"character cue: {en.alias!r}")
                else:
                    context.setdefault(en.franchise, f"franchise cue: {en.alias!r}")

    def _despaced_hits(self, t: str, hits: list, cands: list[_Candidate], context: dict, char_cues: dict) -> None:
        """Names broken up by separators: P i k a c h u, Xing Qiu, ピ・カ・チュウ, 皮 卡 丘. `hits`: the exact
        index's hits in the joined text that have a separator inside them, in text positions."""
        infos, info_codes, flags, everyday = self._infos, self._info_codes, self._flags, self.c.everyday
        named: Optional[dict[tuple[int, int], set[int]]] = None  # built at the first possessive
        for pid, s, e in hits:
            inf = infos[info_codes[pid]]
            if inf.has_sep or not boundary_ok(t, s, e, inf.left, inf.right, inf.length, strict=inf.strict):
                continue
            if flags[pid] & HAS_CONTEXT:
                self._note_context(self._entries[pid], context, char_cues)
            if not flags[pid] & HAS_CHARACTER:
                continue
            base = _before_possessive(t, s, e)
            if base is not None:
                # Dori's read as the plural Doris (a common name, so ambiguous) where the text names Dori: the
                # possessive is not part of the name. Tauro's, where "Tauro" names no one, is still Tauros.
                if named is None:
                    named = self._named_spans(cands, hits)
                if not named.get((s, base), _NO_CHARS).isdisjoint(self._characters_of(pid)):
                    continue
            pieces = run_around(t, s, e)
            extra = None
            if not inf.multipart and len(pieces) != inf.syllables and all(len(p) >= 3 and p in everyday for p in pieces):
                extra = "joined from ordinary words: " + " ".join(pieces)
            elif SYMBOL_SEPARATOR in t[s:e] and _has_han(t, s, e):
                # Chinese text puts emoji between words (超✨梦幻: "super dreamy", not Mewtwo, 超梦); in kana,
                # hangul and Latin names an emoji inside is the obfuscation.
                extra = "joined across an emoji in Chinese text"
            cands.append(_Candidate(s, e, pid, "despaced", 0.9, "separators removed", extra))

    def _characters_of(self, pid: int) -> set[int]:
        return {en.char for en in self._entries[pid] if en.char >= 0}

    def _named_spans(self, cands: list[_Candidate], hits: list) -> dict[tuple[int, int], set[int]]:
        """The characters that the candidates so far and the joined `hits` name, by span."""
        out: dict[tuple[int, int], set[int]] = {}
        for s, e, pid in [(c.s, c.e, c.pid) for c in cands] + [(s, e, pid) for pid, s, e in hits]:
            out.setdefault((s, e), set()).update(self._characters_of(pid))
        return out

    def _fuzzy_hits(self, t: str, chosen: list[_Candidate], covered: list[tuple[int, int]]) -> None:
        if not self._has_fuzzy:
            return
        if "*" in t:
            self._masked_hits(t, chosen, covered)
        # Everyday words are never typos, and the compiler already looked up the rest of the vocabulary.
        found = []
        overlaps = _overlap_test(covered) if len(covered) > _FEW_SPANS else None
        for hit in _rare_latin_words(t, *self._known_words):
            if not (overlaps(hit[0], hit[1]) if overlaps is not None else _overlaps_span(covered, hit[0], hit[1])):
                found.append(hit)
        if found and self._regional:
            found = _not_regional_everyday(t, found, self._regional, self.c.regional_markers)
        if not found:
            return
        fuzzy = self.c.fuzzy
        windows = _typo_windows(t, found, self._name_parts, self._longest_part_typo)
        words = sorted({w for _s, _e, w in found}.union([w for _s, _e, w in windows]))
        hits = dict(zip(words, fuzzy.lookup_many(words)))
        overlaps = None
        if windows:
            self._window_hits(windows, hits, chosen, covered)
            overlaps = _overlap_test(covered)
        for s, e, w in found:
            hit = hits[w]
            if hit is None or (overlaps is not None and overlaps(s, e)):
                continue
            pid, score, dist = hit
            chosen.append(_Candidate(s, e, pid, "fuzzy", round(score, 3), f"{dist} edit(s) from {self.c.patterns[pid]!r}"))
            covered.append((s, e))

    def _masked_hits(self, t: str, chosen: list[_Candidate], covered: list[tuple[int, int]]) -> None:
        """Names with a letter or two masked by asterisks, as written to slip past a filter (P*kachu, He*tmor,
        P*k*chu). Without its mask the word is one deletion from the name, which the typo index finds; with two,
        the word with one mask filled by each letter in turn and the other removed is. The name must then have
        the word's length and its letters wherever the word has one, so the reading is exact (censored everyday
        words, sh*t or b*tch, name nothing). The name keeps the ambiguity of its alias: a masked everyday word is
        still that word (gh*st), unless the mask counts as evasion where leetspeak does (`_matches`). Leading and
        trailing masks are plain deletions, which the typo pass finds by itself."""
        found = []
        for m in _MASKED_WORD.finditer(t):
            s, e = m.span()
            word = m.group()
            if e - s >= (_MASKED_MIN if word.count("*") == 1 else _TWO_MASKS_MIN) and not _overlaps_span(covered, s, e):
                found.append((s, e, word))
        if not found:
            return
        readings = [_mask_readings(word) for _s, _e, word in found]
        hits = iter(self.c.fuzzy.lookup_many([r for rs in readings for r in rs]))
        patterns = self.c.patterns
        for (s, e, word), rs in zip(found, readings):
            hit = None
            for candidate in [next(hits) for _ in rs]:
                name = patterns[candidate[0]] if candidate is not None else ""
                if hit is None and len(name) == len(word) and _fills_masks(word, name):
                    hit = candidate
            if hit is None:
                if min(map(len, word.split("*"))) <= 2:  # a masked word that names no one (b*stard), whose
                    covered.append((s, e))  # pieces are no words for the typo pass (stard is no Staryu)
                continue
            pid, score, _dist = hit
            extra = next((en.ambiguous for en in self._entries[pid] if en.char >= 0 and en.ambiguous is not None), None)
            chosen.append(_Candidate(s, e, pid, "fuzzy", round(score, 3), _MASKED, extra))
            covered.append((s, e))

    def _window_hits(self, windows: list, hits: dict, chosen: list[_Candidate], covered: list[tuple[int, int]]) -> None:
        """A typo in one word of a multi-word name (Yae Mkio, Irno Crown): the words around an uncommon word,
        joined, against the joined spellings of multi-part names. The closest, then shortest, window wins. It
        takes the place of ambiguous candidates inside it ("fire" in "Gougign Fire") and of those that name its
        own characters (Arataki in "Arataki Itot"), and keeps the name's own ambiguity: the other words are as
        written, so "iron hnads" is as ambiguous as "iron hands"."""
        infos, codes, entries = self._infos, self._info_codes, self._entries
        found = []
        for s, e, joined in windows:
            hit = hits[joined]
            if hit is not None and infos[codes[hit[0]]].multipart:
                found.append((hit[2], e - s, s, e, hit))
        if not found:
            return
        found.sort()
        # The chosen candidates are disjoint and stay so (a window takes the place of those inside it), so they
        # are kept in text order for bisection: a long prompt may hold thousands of them, and of windows.
        order = sorted(chosen, key=_START)
        starts = [c.s for c in order]
        ends = [c.e for c in order]
        removed: set[int] = set()
        added: list[_Candidate] = []
        placed: set[int] = set()  # ids of the windows added
        for _dist, _len, s, e, (pid, score, dist) in found:
            i = bisect_right(ends, s)  # the first candidate that ends after s
            j = i
            while j < len(order) and starts[j] < e:
                j += 1
            inside = order[i:j]
            if inside and not self._may_take_place(inside, s, e, pid, placed):
                continue
            removed.update(map(id, inside))
            extra = next((en.ambiguous for en in entries[pid] if en.char >= 0 and en.ambiguous is not None), None)
            note = f"{dist} edit(s) from {self.c.patterns[pid]!r}"
            cand = _Candidate(s, e, pid, "fuzzy", round(score, 3), note, extra)
            order[i:j], starts[i:j], ends[i:j] = [cand], [s], [e]
            added.append(cand)
            placed.add(id(cand))
        added = [c for c in added if id(c) not in removed]  # a later, wider window may take a window's place
        if not added:
            return
        gone = {(c.s, c.e) for c in chosen if id(c) in removed}
        chosen[:] = [c for c in chosen if id(c) not in removed] + added
        if gone:
            covered[:] = [span for span in covered if span not in gone]
        covered.extend((c.s, c.e) for c in added)

    def _may_take_place(self, inside: list[_Candidate], s: int, e: int, pid: int, windows: set[int]) -> bool:
        """Whether a typo window [s, e) that names `pid`'s characters takes the place of the candidates inside it:
        each lies within it and is ambiguous, or names only those characters (a part of the name, Arataki in
        "Arataki Itot", or the other word read as a typo of it, Shgoun in "Raiden Shgoun") and is no closer
        window of this pass (`windows`, their ids: "Itto aratai", not "a Itto aratai")."""
        named = None
        for c in inside:
            if c.s < s or e < c.e:
                return False
            if self._is_ambiguous(c):
                continue
            if id(c) in windows:
                return False
            if named is None:
                named = self._characters_of(pid)
            if not self._characters_of(c.pid) <= named:
                return False
        return True

    def _is_ambiguous(self, cand: _Candidate) -> bool:
        """Whether every character a candidate names is named ambiguously (it needs context to count)."""
        if cand.extra_ambiguity is not None:
            return True
        for en in self._entries[cand.pid]:
            if en.char >= 0 and en.ambiguous is None:
                return False
        return True

    def _corroboration(self, en: Entry, context: dict, by_char: dict, char_cues: dict) -> Optional[str]:
        """What in the prompt, other than this mention itself, points to the mention's franchise."""
        if en.char in char_cues:
            return char_cues[en.char]
        if en.franchise in context:
            return context[en.franchise]
        if en.lang.endswith("-Latn") and en.ambiguous is not None:
            # A romanized Japanese name that is an English word ("Fire", "Sand", "Lantern") next to another
            # character is still the English word: "Charizard breathing fire". Only the franchise or a cue counts.
            return None
        for char in by_char.get(en.franchise, ()):
            if char != en.char:
                return f"unambiguous character {self.c.characters[char].id} in the prompt"
        return None

    def _matches(self, nt, cand: _Candidate, context: dict, by_char: dict, char_cues: dict, include_candidates: bool,
                 prompt_lang: list) -> list[Match]:
        out = []
        entries = self._entries[cand.pid]
        end = cand.e
        if nt.text[end : end + 1] in _SIGN_LEADS and len(entries) > 1:
            entries, end = _by_sign(nt.text, end, entries)
        os_, oe = nt.span(cand.s, end)
        surface = nt.original[os_:oe]
        normalized = cand.norm if cand.norm is not None else nt.text[cand.s : cand.e]
        seen = set()
        evasion: Optional[str] = None
        looked = False  # at the spelling, for evasion
        for en in entries:
            if en.char < 0 or en.char in seen or en.kind == CUE:
                continue
            seen.add(en.char)
            ch = self.c.characters[en.char]
            # A typo is by construction not the everyday word that made its alias ambiguous.
            reason = cand.extra_ambiguity or (None if cand.method == "fuzzy" else en.ambiguous)
            if reason is None and en.word_in is not None and cand.method != "fuzzy":
                reason = _word_of_the_prompt(en, nt.original, surface, prompt_lang)
            evidence: list[str] = []
            confirmed = True
            why = None
            if reason is not None:
                why = self._corroboration(en, context, by_char, char_cues)
                # Nor is a spelling made to slip past a filter (4mber, L1sa): that is meant as the name. Not for a
                # romanized Japanese name that is an English word: "GH0ST" on a logo is styled, not evasive.
                if not looked:
                    # A last ! or | read as a letter is no sign of evasion by itself; the leetspeak before it is.
                    spelled = surface.rstrip("!|") if cand.note is _TAIL_AS_LETTER else surface
                    evasion, looked = (_MASKED if cand.note is _MASKED else _evasion(spelled, normalized)), True
                if evasion is not None and not en.lang.endswith("-Latn"):
                    evidence.append(f"ambiguous ({reason}), but spelled to evade a filter: {evasion}")
                    reason = None
            elif en.franchise in self._personal_names:
                why = self._corroboration(en, context, by_char, char_cues)
                if why is None and _person_context(nt.text, cand.s, cand.e):
                    reason = "a personal name used for a person"
            if reason is not None:
                if why is None:
                    confirmed = False
                    evidence.append(f"ambiguous ({reason}); no context for {ch.franchise}")
                else:
                    evidence.append(f"ambiguous ({reason}); confirmed by {why}")
            if not confirmed and not include_candidates:
                continue
            method = cand.method or _METHOD.get(en.kind, "variant")
            score = cand.score if cand.score is not None else _SCORE.get(en.kind, 0.9)
            note = cand.note or en.note
            if note:
                evidence.insert(0, note)
            out.append(
                new_match(
                    ch.id, ch.franchise, ch.rightsholder, os_, oe, surface, en.alias, method, score,
                    normalized, en.lang, confirmed, tuple(evidence),
                )
            )
        return out


def _word_of_the_prompt(en: Entry, prompt: str, surface: str, prompt_lang: list) -> Optional[str]:
    """Why a name that is a word of some languages needs context in this prompt (Lavados, German for Moltres, is
    Spanish for "washed": "platos lavados" is dishes), or None where the prompt is not in one of them. `word_in`
    "*": a Latin word that only a look-alike fold makes the name (Russian Сара folds to "capa"), in any prompt.
    Only where the name is written in Latin letters: Cyrillic Тома is no Spanish word. `prompt_lang`: the scan's
    memo of the prompt's language, empty until a name first asks (the prompt is read once, not once per name)."""
    if not any("a" <= c <= "z" or "A" <= c <= "Z" for c in surface):
        return None
    if en.word_in == "*":
        return "a common Latin-script word that the name only looks like"
    if not prompt_lang:
        prompt_lang.append(stated_latin_lang(prompt))
    lang = prompt_lang[0]
    if lang is None or lang not in en.word_in.split(","):
        return None
    return f"a word of the prompt's language ({lang}), where the character has another name"


# Signs that tell apart characters whose names differ only in them (Nidoran♀, Nidoran♂), and what may stand
# between a name and its sign.
_NAME_SIGNS = "\u2640\u2642"
_SIGN_LEADS = frozenset(_NAME_SIGNS + " -")
_MORE_SIGNS = re.compile(r"[\s-]*(?:[/&,+|]|and|or|und|oder|et|ou|y|o|e|и|или|と|和|与|與|或)?[\s-]*[\u2640\u2642]")


def _by_sign(t: str, end: int, entries: tuple) -> tuple[tuple, int]:
    """(the entries whose alias ends with the sign after a mention, the mention's end over the sign): a typo or a
    space before the sign (Nidroan♂, Nidoran ♂) leaves a hit of the name without it, which names both. Both signs
    (Nidoran ♂♀, Nidoran ♂ and ♀) keep every entry, and the mention takes them in. Where the sign names none or all
    of them, (entries, end) as they were."""
    k = end + 1 if t[end] in " -" else end
    if k >= len(t) or t[k] not in _NAME_SIGNS:
        return entries, end
    sign = t[k]
    both = _MORE_SIGNS.match(t, k + 1)
    if both is not None and t[both.end() - 1] != sign:
        return entries, both.end()
    kept = tuple(en for en in entries if en.char < 0 or en.alias.rstrip().endswith(sign))
    named = {en.char for en in kept if en.char >= 0}
    if not named or named == {en.char for en in entries if en.char >= 0}:
        return entries, end
    return kept, k + 1


_APOSTROPHES = frozenset("'\u2019")
_NO_CHARS: frozenset = frozenset()


def _before_possessive(t: str, s: int, e: int) -> Optional[int]:
    """Where the name before a possessive ends, when the joined hit t[s:e] ends in one ('s, or spaced out: D o r i ' s);
    else None."""
    if e - s < 4 or t[e - 1] != "s":
        return None
    k = e - 2
    while k > s and t[k] == " ":
        k -= 1
    if t[k] not in _APOSTROPHES:
        return None
    while k > s and t[k - 1] == " ":
        k -= 1
    return k if k > s else None


def _has_han(t: str, s: int, e: int) -> bool:
    return any(script_of(c) == "han" for c in t[s:e])


def _spanning(joined_hits: list, cut_list: list[int]) -> list[tuple[int, int, int]]:
    """The hits of the joined text that have a separator inside them, in text positions (the others are hits of
    the text itself). `cut_list`: separator_cut_list of the text; joined index k is text index
    k + (separators removed before k)."""
    out = []
    for pid, ds, de in joined_hits:
        before_start = bisect_right(cut_list, ds)
        before_last = bisect_right(cut_list, de - 1)
        if before_start != before_last:
            out.append((pid, ds + before_start, de + before_last))
    return out


_LEET_SIGNS = frozenset("0123456789@$!|")


# A name written one letter at a time, the letters apart, a capital first: A m b e r, L*i*s*a, D.i.t.t.o.
_SPACED_NAME = re.compile(r"[^\W\d_](?:[\s.*_\-·~|+:]+[^\W\d_])+[.]?")


def _capitalized(text: str) -> bool:
    """Whether the letters of `text` start with a capital and are not all capitals (A m b e r, G r e a t  T u s k)."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) > 1 and letters[0].isupper() and any(c.islower() for c in letters[1:])


def _evasion(surface: str, normalized: str) -> Optional[str]:
    """How the spelling of a mention hides the name, or None (4mber, L1sa, Bаrbаra with a Cyrillic а, Li<zero-width
    space>sa, Ｂenｎeｔt, A m b e r, Hangul typed as letters: ㅍㅣㅋㅏㅊㅠ). Left out because design prompts use them
    for style: letters spaced out or dotted in capitals (T H U N D E R, F.I.R.E.), all-capital leetspeak (GH0ST
    GAM1NG), full-width text alone (ｖａｐｏｒｗａｖｅ), and the soft hyphen of copied text."""
    plain = surface if surface.isascii() else unicodedata.normalize("NFKC", surface)  # full-width digits are leet too
    if (
        (len(normalized) >= 4 or (len(normalized) == 3 and plain[:1].isalpha() and plain[-1:].isalpha()))
        and not _LEET_SIGNS.isdisjoint(plain)
        and _LEET_SIGNS.isdisjoint(normalized)
        and not plain.isupper()
    ):
        # Not shorter, and three letters only with the sign between two letters (M3w): 7ic, a word of a Chinese
        # text, would be Klink's French name.
        return "leetspeak"
    if len(normalized) >= 3 and _SPACED_NAME.fullmatch(plain) is not None and _capitalized(plain):
        # A m b e r, L*i*s*a: written as a name, a capital first and small letters. In capitals (T H U N D E R)
        # or in small letters alone (a m b e r) it is a design's lettering; a/b/o and t.i.c. are abbreviations.
        return "letters spaced out"
    if not surface.isascii() or not surface.isprintable():
        latin = other = wide = False
        jamo_vowels = 0
        for c in surface:
            if c < " " or c == "\x7f":  # a control character (normalization drops it, as it drops a zero-width one)
                return "invisible characters inside it"
            if c < "\x80":
                latin = latin or c.isalpha()
            elif "\u0370" <= c <= "\u04ff":  # Greek and Cyrillic
                other = True
            elif "\uff21" <= c <= "\uff5a":  # full-width Latin
                wide = True
            elif "\u314f" <= c <= "\u3163":  # a Hangul vowel typed apart from its consonant (ㅍㅣㅋㅏㅊㅠ)
                jamo_vowels += 1
            elif c != "\u00ad" and unicodedata.category(c) in ("Cf", "Cc"):
                return "invisible characters inside it"
        if latin and other:
            return "look-alike letters of another script"
        if latin and wide:
            return "full-width letters mixed in"
        if jamo_vowels >= 2:  # one syllable typed apart is as often an emoticon (ㅁㅠㅠ, ㅅㅗㅗ)
            return "Hangul typed letter by letter"
    return None


def _leet_ones(nt) -> list[int]:
    """The positions of the normalized text where leetspeak folding read a "1" (or a look-alike of it: `_ONES`)
    as "i"."""
    t, original, offsets = nt.text, nt.original, nt.offsets
    out: list[int] = []
    if offsets is None:  # every character stayed in place
        for one in _ONES:
            j = original.find(one)
            while j >= 0:
                if t[j] == "i":
                    out.append(j)
                j = original.find(one, j + 1)
        if len(out) > 1:
            out.sort()
    else:
        j = t.find("i")
        while j >= 0:
            if original[offsets[j]] in _ONES:
                out.append(j)
            j = t.find("i", j + 1)
    return out


# "1" and what NFKC folds to it: full-width, mathematical, superscript, subscript and circled ones (K𝟏ee).
# (A test checks the list against Unicode's.)
_ONES = ("1", "\u00b9", "\u2081", "\u2460", "\uff11", "\U0001d7cf", "\U0001d7d9", "\U0001d7e3", "\U0001d7ed", "\U0001d7f7", "\U0001fbf1")
_OTHER_ONES = _ONES[1:]


def _has_other_one(text: str) -> bool:
    # One substring test each: 0.7 µs for a 300-character prompt; a regex character class takes 8 µs.
    for one in _OTHER_ONES:
        if one in text:
            return True
    return False


def capital_homoglyphs(homoglyphs: dict[str, str]) -> dict[str, tuple[str, str]]:
    """{capital: (the letter its lower case folds to, the letter it looks like)} for the capitals of other scripts
    that look like another Latin letter than their lower case: Greek Ν is N and ν is v, Υ is Y and υ is u, Ι and
    Cyrillic І are l (or I) and ι, і are i. Folding lowers the case first, so it reads the lower case's letter."""
    out = {}
    for capital, looks_like in homoglyphs.items():
        lower = capital.lower()
        folded = homoglyphs.get(lower)
        if lower != capital and len(lower) == 1 and folded is not None and folded != looks_like:
            if not unicodedata.normalize("NFKC", capital).isascii():  # full-width Ｉ is I, as ASCII I is
                out[capital] = (folded, looks_like)
    return out


def _capital_subs(nt, capitals: dict[str, tuple[str, str]]) -> list[tuple[int, str]]:
    """(position in the normalized text, letter), in text order, where a capital of `capitals` was folded to its
    lower case's letter inside a word that may be a name written with look-alikes (`_lookalike_words`)."""
    t, original, offsets = nt.text, nt.original, nt.offsets
    found: list[tuple[int, int, str]] = []  # (normalized position, original position, letter)
    for capital, (folded, looks_like) in capitals.items():
        j = original.find(capital)
        if j < 0:
            continue
        if offsets is None:  # every character stayed in place
            while j >= 0:
                if t[j] == folded:
                    found.append((j, j, looks_like))
                j = original.find(capital, j + 1)
        else:
            k = t.find(folded)
            while k >= 0:
                if original[offsets[k]] == capital:
                    found.append((k, offsets[k], looks_like))
                k = t.find(folded, k + 1)
    if not found:
        return []
    found.sort()
    ok = _lookalike_words(original, [i for _k, i, _c in found])
    return [(k, c) for (k, _i, c), good in zip(found, ok) if good]


def _lookalike_words(text: str, positions: list[int]) -> list[bool]:
    """For each of the sorted `positions`, whether the word around it (a run of letters, digits and leetspeak signs
    of the alphabetic scripts, across the invisible characters normalization removes; kana and hanzi end it) may be
    a name written with look-alikes: it holds a Latin letter as written (Νahida, Ν1lou, ΝＡＨＩＤＡ) or mixes Greek
    and Cyrillic (НΥРΝО), and is no longer than a name (_WINDOW_WORD). Not a Greek word whose letters all look
    like Latin ones (ΜΕΙΣ, ΜΟΝΑ), nor one next to Japanese (ΜΕΙΣとKlee). Each word is looked at once."""
    spans = [m.span() for m in _ALPHABETIC_RUN.finditer(text)]
    starts = [a for a, _b in spans]
    verdicts: dict[int, bool] = {}
    out = []
    for i in positions:
        w = bisect_right(starts, i) - 1
        if w < 0 or spans[w][1] <= i:
            out.append(False)
            continue
        good = verdicts.get(w)
        if good is None:
            a, b = spans[w]
            word = text[a:b]
            good = verdicts[w] = b - a <= _WINDOW_WORD and (
                _LATIN_LETTER_AS_WRITTEN.search(word) is not None
                or (_GREEK_LETTER.search(word) is not None and _CYRILLIC_LETTER.search(word) is not None)
            )
        out.append(good)
    return out


_ALPHABETIC_RUN = re.compile(
    "[0-9A-Za-z@$!|\u00aa-\u052f\u1d00-\u1fff\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u00ad\u200b-\u200d\u2060\ufeff"
    "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]+"  # (and the control characters that normalization drops)
)
_LATIN_LETTER_AS_WRITTEN = re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff\uff21-\uff3a\uff41-\uff5a]")
_GREEK_LETTER = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")
_CYRILLIC_LETTER = re.compile("[\u0400-\u052f]")


def _leet_tails(nt, common) -> list[tuple[int, str]]:
    """(position in the normalized text, letter) of each "!" (as "i") and "|" (as "l") that ends a word written in
    leetspeak: D0r!, Azumar1||, Ch!or!. Folding keeps a word's last ! and | as punctuation, so that "Pikachu!" stays
    Pikachu; in such a word they are as likely letters. Left alone: a word with no leetspeak before them ("See!"),
    a handle's "@" not counting ("@star!"), and a word that folds to an everyday word of `common` ("St4r!")."""
    t, original = nt.text, nt.original
    out: list[tuple[int, str]] = []
    n = len(t)
    for run in _TAIL_SIGNS.finditer(t):
        j, end = run.span()
        if j > 0 and "a" <= t[j - 1] <= "z" and (end == n or t[end] not in _WORD_TAIL_NEXT):
            start = j - 1
            while start > 0 and t[start - 1] in LEET_TOKEN_CHARS:
                start -= 1
            while t[start] in "@$!|":  # a leading sign is a handle's or a price's, not a letter of the word
                start += 1
            os_, oe = nt.span(start, j)
            if not _LEET_IN_WORD.isdisjoint(original[os_:oe]) and t[start:j] not in common:
                out.extend((k, "i" if t[k] == "!" else "l") for k in range(j, end))
    return out


_TAIL_SIGNS = re.compile(r"[!|]+")


_WORD_TAIL_NEXT = LEET_TOKEN_CHARS - frozenset("@$!|")  # a letter or digit after the signs: the word goes on
_LEET_IN_WORD = _LEET_SIGNS | frozenset("\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19")  # and full-width digits


# A hyphenated word with a leetspeak character next to a hyphen (H0-0h, W0-Chi3n, Ch!-Yu). Normalization leaves a
# run of two characters or with one letter alone (R2-D2, 4k), so these parts stay as written; the whole group is
# read again with each part folded, and only a name that holds its leetspeak parts, from the first to the last,
# counts (H0-0h-style, Ch!-Yu-chan).
_NO_LETTER = re.compile(r"[^a-z]*")
_GROUP_CHARS = LEET_TOKEN_CHARS | frozenset("-")
_GROUP_RUN = re.compile(r"[a-z0-9@$!|-]*")
_HYPHEN_AS_LETTERS = "leetspeak across a hyphen read as letters"


def _hyphen_groups(t: str) -> tuple[list[tuple[int, int]], list[tuple[int, str]]]:
    """The spans a name must hold in the hyphenated groups of `t` to read again (from the first part with a
    leetspeak character to the last, in order) and the (position, letter) of each leetspeak character in them. A
    group qualifies when every part has a letter and none is a number with a unit (4k-60fps); a handle (@h0-0h)
    does not, and a trailing ! or | stays punctuation (H0-0h!)."""
    groups: list[tuple[int, int]] = []
    subs: list[tuple[int, str]] = []
    n, done = len(t), 0
    # The groups are found from the hyphens (a prompt has few) that stand next to a digit or sign, not by a pattern
    # tried at every position of the text: the whole run of word characters and hyphens around each.
    j = t.find("-")
    while j >= 0:
        at, j = j, t.find("-", max(j + 1, done))
        if at < done or not ((at > 0 and t[at - 1] in _LEET_SIGNS) or (at + 1 < n and t[at + 1] in _LEET_SIGNS)):
            continue
        start = at
        while start > 0 and t[start - 1] in _GROUP_CHARS:
            start -= 1
        end = _GROUP_RUN.match(t, at).end()
        done = end
        while end > start and t[end - 1] in "-!|":  # a trailing hyphen; a trailing ! or | is punctuation
            end -= 1
        body = t[start:end]
        parts = body.split("-")
        if not 2 <= len(parts) <= 3 or body[0] in "-@":
            continue
        for part in parts:  # most hyphens by a digit join a number (16-bit, 35-mm): no letter in a part
            if not 0 < len(part) <= 12 or _NO_LETTER.fullmatch(part) or is_number_with_unit(part):
                break
        else:
            found = [(start + i, LEET_LETTERS[c]) for i, c in enumerate(body) if c in LEET_LETTERS]
            if not found:  # the sign by the hyphen was a trailing one (ab-c-!)
                continue
            first, last = found[0][0], found[-1][0]
            while first > start and t[first - 1] != "-":
                first -= 1
            while last < end and t[last] != "-":
                last += 1
            groups.append((first, last))
            subs.extend(found)
    return groups, subs


_DASH_AS_LONG_VOWEL = "a dash or 一 after katakana read as ー"
_SHORTEST_KATAKANA_TAIL = 3


def _katakana_window(t: str, j: int) -> Optional[tuple[int, int]]:
    """The katakana word around the mark at `j` (the run before it, and the run after it where it stands between
    katakana), with one character on each side for its boundaries. None for a word that would end at the mark
    with fewer than three katakana before it: with ー added, short everyday words spell short names (コレ一, ドリ-
    read as コレー, ドリー)."""
    a = j
    while a > 0 and j - a < _WINDOW_WORD and is_katakana_or_long(t[a - 1]):
        a -= 1
    b = j + 1
    while b < len(t) and b - j < _WINDOW_WORD and is_katakana_or_long(t[b]):
        b += 1
    if b == j + 1 and j - a < _SHORTEST_KATAKANA_TAIL:
        return None
    return max(a - 1, 0), min(b + 1, len(t))


def _with_letters(t: str, subs: list[tuple[int, str]]) -> str:
    chars = list(t)
    for j, c in subs:
        chars[j] = c
    return "".join(chars)


_MIXED_ONES_MAX = 4  # a word with more ones is searched with all of them as "i", then all as "l"


def _mixed_ones(t: str, ones: list[int]) -> list[list[int]]:
    """The readings of the words (`_word_spans`) with two to _MIXED_ONES_MAX of the positions `ones` that put some
    of their ones as "l" and leave the rest as "i". Round r holds the r-th proper non-empty subset of every such
    word, so a prompt takes at most 14 more searches however many such words it has. A word longer than
    _WINDOW_WORD is no name (_word_windows)."""
    spans, starts, _ends = _word_spans(t)
    by_word: dict[int, list[int]] = {}
    for j in ones:
        w = bisect_right(starts, j) - 1
        if w >= 0 and j < spans[w][1] and spans[w][1] - spans[w][0] <= _WINDOW_WORD:
            by_word.setdefault(w, []).append(j)
    rounds: list[list[int]] = []
    for group in by_word.values():
        if 2 <= len(group) <= _MIXED_ONES_MAX:
            mixes = [mix for k in range(1, len(group)) for mix in combinations(group, k)]
            for r, mix in enumerate(mixes):
                if r == len(rounds):
                    rounds.append([])
                rounds[r].extend(mix)
    return rounds


_WINDOW_WORD = 64  # a run of this many characters without a separator is part of no name (nor is such a gap)


# Words for the windows of second readings: runs of Latin letters, digits and @ $, or of other characters, between
# separators. Latin words end where another script starts, so a leetspeak name inside a long Japanese or Chinese
# clause (K1eeが夕焼けの…) is a word of its own; 、 and 。 are no separators.
_SEPARATOR_CLASS = "".join(re.escape(c) for c in sorted(SEPARATORS))
_WORD_RUN = re.compile("[a-z0-9@$]+|[^a-z0-9@$" + _SEPARATOR_CLASS + "]+")
_last_words: tuple = ("", [], [], [])  # (text, spans, starts, ends) of the last text windows were asked for


def _word_spans(t: str) -> tuple[list, list, list]:
    """The word spans of `t`, their starts and their ends; found once per text (a prompt asks for windows up to
    16 times, and a long one would be split again each time). One entry, replaced whole: safe across threads."""
    global _last_words
    last = _last_words
    if last[0] is t:
        return last[1], last[2], last[3]
    spans = [m.span() for m in _WORD_RUN.finditer(t)]
    starts = [a for a, _ in spans]
    ends = [b for _, b in spans]
    _last_words = (t, spans, starts, ends)
    return spans, starts, ends


def _word_windows(t: str, positions: list[int]) -> list[tuple[int, int]]:
    """Spans of `t` around each position, merged where they overlap: back to the start of the second-last word
    that starts before it, on to the end of the second word that ends after it (`_WORD_RUN`), or to
    the text's edge where there are fewer. Enough for a name of three words around the position. A word longer
    than _WINDOW_WORD is part of no name: a position inside one (or just after it) has no window, and a window
    stops before one, and before a gap that long. The words are found once, so a prompt costs time in proportion
    to its length however many positions it has."""
    if not positions:
        return []
    spans, starts, ends = _word_spans(t)
    n, limit = len(t), _WINDOW_WORD
    out: list[tuple[int, int]] = []
    last = (-1, -1)
    inside_from = inside_to = -1  # the word the last position was inside, if it was
    for p in positions:
        if inside_from < p < inside_to:  # inside the same word again: the same window (positions are sorted)
            continue
        k = bisect_left(starts, p)  # spans[:k] start before p
        kf = bisect_right(ends, p)  # spans[kf:] end after p
        if kf == k - 1:  # inside a word: the window is the word's, as for the last position if it was in it too
            inside_from, inside_to = spans[kf]
            if (k, kf) == last:
                continue
            last = (k, kf)
        else:
            last = (-1, -1)
            inside_from = inside_to = -1
        skip = False
        a = p
        for step in (1, 2):
            w = k - step
            if w < 0:  # no word left: the separators before the first word
                if a <= limit:
                    a = 0
                break
            ws, we = spans[w]
            if we - ws > limit:
                skip = step == 1 and we >= p  # p's own word (or the one it ends)
                break
            if a - we > limit:
                break
            a = ws
        if skip:
            continue
        b = p
        for step in (0, 1):
            w = kf + step
            if w >= len(spans):
                if n - b <= limit:
                    b = n
                break
            ws, we = spans[w]
            if we - ws > limit:
                skip = step == 0 and ws <= p
                break
            if ws - b > limit:
                break
            b = we
        if skip:
            continue
        b = max(b, p + 1)  # a sign after a word (D0r!) stays in its window whatever follows it
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


def _all_in(hits: list, raw: list) -> bool:
    """Whether each pattern occurs among `hits` no more often than among `raw`."""
    if len(raw) > 32:  # list.remove is quadratic
        need = Counter(pid for pid, _s, _e in hits)
        need.subtract(pid for pid, _s, _e in raw)
        return all(v <= 0 for v in need.values())
    left = [pid for pid, _s, _e in raw]
    for pid, _s, _e in hits:
        try:
            left.remove(pid)
        except ValueError:
            return False
    return True


def _word_positions(t: str, word: str):
    """Starts of `word` in `t` as a whole run of ASCII letters and digits (as `_LATIN_RUN` finds it)."""
    n = len(word)
    i = t.find(word)
    while i >= 0:
        e = i + n
        if (i == 0 or t[i - 1] not in _ALNUM) and (e == len(t) or t[e] not in _ALNUM):
            yield i
        i = t.find(word, e)


_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _person_context(t: str, s: int, e: int) -> bool:
    return _NAMED_BEFORE.search(t, max(0, s - 24), s) is not None or _PERSON_AFTER.match(t[e : e + 16]) is not None


def _rank(cand: _Candidate, entries) -> tuple:
    es = entries[cand.pid]
    best_kind = min((0 if e.kind == NAME else 1 if e.kind == "variant" else 2) for e in es if e.char >= 0)
    exactness = 0 if cand.method is None else 1 if cand.method == "despaced" else 2
    return (-(cand.e - cand.s), exactness, best_kind, cand.s)


def _select(cands: list[_Candidate], entries) -> list[_Candidate]:
    """Longest mention wins where hits overlap (Mewtwo over Mew, Porygon-Z over Porygon)."""
    if len(cands) <= 1:
        return cands
    cands.sort(key=partial(_rank, entries=entries))
    chosen: list[_Candidate] = []
    if len(cands) <= _FEW_SPANS:
        for c in cands:
            if not _overlaps_any(chosen, c.s, c.e):
                chosen.append(c)
        return chosen
    # Many mentions (a long prompt that repeats names): testing each against all the chosen ones would take time
    # in the square of their number; the chosen spans are disjoint, so a bitmap of what they cover answers.
    taken = DisjointSpans(max(c.e for c in cands))
    for c in cands:
        if not taken.overlaps(c.s, c.e):
            taken.add(c.s, c.e)
            chosen.append(c)
    return chosen


_START = attrgetter("s")
_FEW_SPANS = 16  # up to this many, a plain loop over the spans is faster than building an index


def _overlap_test(spans):
    """`_overlaps_span` over `spans` as they are now, as a function of (start, end)."""
    if len(spans) > _FEW_SPANS:
        return SpanIndex(spans).overlaps
    return partial(_overlaps_span, list(spans))


# What may stand between the words of a multi-word name in normalized text (Yae Miko, Ting-Lu, Mime Jr.,
# Type: Null), up to three of them: the spaces and joining marks of guard.normalize.SEPARATORS and the colon of
# Type: Null, not its other punctuation (a comma or a slash separates a list, not the words of one name).
_NAME_JOINERS = frozenset(" \t\n-_.:'\u2019")


def _word_before(t: str, s: int) -> Optional[tuple[int, int, str]]:
    """(start, end, word) of the a-z word that ends one to three joining characters before t[s], or None."""
    i = s
    while i > 0 and s - i < 3 and t[i - 1] in _NAME_JOINERS:
        i -= 1
    if i == s:
        return None
    j = i
    while j > 0 and "a" <= t[j - 1] <= "z":
        j -= 1
    if j == i or (j > 0 and _is_latin_or_digit(t[j - 1])):
        return None
    return j, i, t[j:i]


def _word_after(t: str, e: int) -> Optional[tuple[int, int, str]]:
    """(start, end, word) of the a-z word that starts one to three joining characters after t[e - 1], or None."""
    n = len(t)
    i = e
    while i < n and i - e < 3 and t[i] in _NAME_JOINERS:
        i += 1
    if i == e:
        return None
    j = i
    while j < n and "a" <= t[j] <= "z":
        j += 1
    if j == i or (j < n and _is_latin_or_digit(t[j])):
        return None
    return i, j, t[i:j]


def _typo_windows(t: str, rare: list[tuple[int, int, str]], parts: frozenset, longest: int) -> list[tuple[int, int, str]]:
    """(start, end, joined words) of the runs of two or three neighbouring words that hold one of the `rare`
    words and a word of a multi-word name (`parts`): where a typo in one word of such a name would be."""
    out = []
    for s, e, w in rare:
        if e - s > longest:
            continue
        words = [(s, e, w)]  # the rare word and up to two neighbours on each side, in text order
        for _ in range(2):
            before = _word_before(t, words[0][0])
            if before is None:
                break
            words.insert(0, before)
        at = len(words) - 1
        for _ in range(2):
            after = _word_after(t, words[-1][1])
            if after is None:
                break
            words.append(after)
        in_name = [x[2] in parts for x in words]
        for first in range(max(0, at - 2), at + 1):
            for last in range(max(first + 1, at), min(first + 3, len(words))):
                if any(in_name[first : last + 1]):
                    out.append((words[first][0], words[last][1], "".join(x[2] for x in words[first : last + 1])))
    return out


def _overlaps_any(taken, s: int, e: int) -> bool:
    """Whether [s, e) overlaps a candidate of `taken`. (A function rather than a generator expression in the
    callers, which would make their variables closure cells, one allocation each per call.)"""
    for k in taken:
        if s < k.e and k.s < e:
            return True
    return False


def _overlaps_span(spans, s: int, e: int) -> bool:
    """Whether [s, e) overlaps one of the (start, end) `spans`."""
    for a, b in spans:
        if a < e and s < b:
            return True
    return False
