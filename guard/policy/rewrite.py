"""Replace or drop a character mention in the original prompt, keeping the sentence grammatical.

Edits are applied right to left at the match offsets, so the offsets of the mentions to the left stay valid.
Each edit may also touch the words next to the mention (an article, a conjunction, a particle), but never
beyond the neighbouring mentions (`floor` and `ceil`).

English
- The descriptor's own article yields to a determiner already in the prompt: "the Pikachu" -> "the small
  yellow electric mouse", "Ash's Pikachu" -> "Ash's small yellow electric mouse", "a cute Pikachu" -> "a cute
  small yellow electric mouse"; "a Eevee"-style disagreement is fixed ("an Eevee" -> "a fox-like creature").
- Without a determiner it keeps its article, placed before any adjectives: "a photo of cute Pikachu" -> "a
  photo of a cute small yellow electric mouse".
- Possessives and plurals: "Pikachu's tail" -> "a small yellow electric mouse's tail"; "two Pikachus" -> "two
  small yellow electric mice" (the phrase's `plural`, else a naive plural of the last word).
- At the start of a sentence the replacement is capitalized.
French, German, Spanish, Italian: a determiner before the mention is replaced by the phrase's own.
Japanese and Chinese: the phrase takes the place of the name; particles (が, を, の ...) and 的 stay attached. A
Chinese phrase's leading numeral and classifier yields to one already there ("一只皮卡丘").
Korean: the particle after the mention is re-chosen for the new last syllable (이/가, 은/는, 을/를, 과/와, 으로/로).
Drop removes the mention together with its article, adjectives, possessive ending and the conjunction or
particle that tied it to the sentence: "Pikachu and Eevee play" -> "Eevee play", "イーブイとピカチュウが遊ぶ" ->
"イーブイが遊ぶ", "伊布和皮卡丘在玩" -> "伊布在玩".
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Optional

# -- English ----------------------------------------------------------------------------------------------
_EN_DET = frozenset(
    "a an the this that these those my your his her its our their one another every each some any no".split()
)
_EN_FUNCTION = frozenset(
    """with and or of in on at to for by from like as is are was were be been being featuring including alongside
    near under over into onto vs versus than but nor so then while where when who which draw drawing paint painting
    show showing make create render photo picture image portrait illustration""".split()
)
_EN_ADJ = frozenset(
    """cute little small big large giant tiny huge happy angry sad sleepy shiny fluffy adorable friendly wild young
    old baby chubby fat tall short red blue yellow green black white pink purple orange brown golden silver grey gray
    dark bright pastel cartoon realistic smiling running flying jumping dancing standing sitting sleeping cool
    fierce majestic mighty tired hungry playful lovely pretty beautiful handsome brave lonely proud kawaii chibi
    mini mega super evil good new classic""".split()
)
_EN_ADJ_SUFFIX = re.compile(r"(?:[^aeiou]y|ful|ous|ive|ish|ic|ed|ing|less|able|ible|est)$")
_VOWEL_SOUND_EXCEPTIONS_A = re.compile(r"^(?:eu|ew|uni|use|usu|uti|ura|ure|uro|one|once|ubi)", re.I)
_VOWEL_SOUND_EXCEPTIONS_AN = re.compile(r"^(?:hour|honest|honou?r|heir|herb)", re.I)
_ARTICLE = re.compile(r"^(a|an|the)\s+(?=\S)", re.I)
_SENTENCE_END = ".!?\n。！？"
_EN_CONJ_AFTER = re.compile(r"[ \t]*(?:,[ \t]*(?:(?:and|or)[ \t]+)?|[ \t]+(?:and|or|&|with|plus)[ \t]+)", re.I)
_EN_CONJ_BEFORE = re.compile(
    r"(?:[ \t]*,[ \t]*(?:(?:and|or)[ \t]+)?|[ \t]+(?:and|or|&|with|plus|featuring|including|alongside|like)[ \t]*)$",
    re.I,
)

# -- French, German, Spanish, Italian -------------------------------------------------------------------
_EU_DET = {
    "fr": frozenset("le la les un une des ce cet cette ces mon ma mes ton ta tes son sa ses notre votre leur".split()),
    "de": frozenset("der die das den dem des ein eine einen einem einer eines dieser diese dieses mein meine sein seine".split()),
    "es": frozenset("el la los las un una unos unas este esta estos estas mi mis su sus".split()),
    "it": frozenset("il lo la i gli le un uno una questo questa mio mia suo sua".split()),
}
_EU_ELIDED = re.compile(r"(?:\b[lL]|\b[uU]n|\b[dD]ell|\b[qQ]uest)['’]$")
_FR_ELIDABLE = re.compile(r"(?<![^\s(])([dDjJ]|[qQ]u)(?:e)[ \t]+$")
_EU_CONJ = {"fr": "et|ou|avec", "de": "und|oder|mit", "es": "y|e|o|con", "it": "e|ed|o|con"}

# -- Japanese, Chinese, Korean -----------------------------------------------------------------------------
_JA_SUFFIX = re.compile(r"(?:ちゃん|くん|さん|さま|様|たち|達)")
_JA_CONNECTOR_BEFORE = re.compile(r"(?:と|や|、|,)$")
_JA_CASE_PARTICLES = "がはをにのもでへ"
_JA_PARTICLE_AFTER = re.compile(r"(?:と一緒に|とともに|[がはをにとのもでへや]|、)")
_ZH_NUM_CLASSIFIER = re.compile(r"[一二两三四五六七八九十几这那每某][只个头位名条匹]$")
_ZH_PHRASE_CLASSIFIER = re.compile(r"^[一二两三四五六七八九十几这那每某][只个头位名条匹]")
_ZH_CONNECTOR = re.compile(r"(?:以及|和|与|跟|同|及|、|,)")
_ZH_CONNECTOR_BEFORE = re.compile(r"(?:以及|和|与|跟|同|及|、|,)$")
_KO_PARTICLE = re.compile(r"(?:이랑|랑|하고|에게|한테|에서|으로|로|이|가|은|는|을|를|와|과|의|도|에)(?![가-힣])")
_KO_CONNECTOR_BEFORE = re.compile(r"(?:와|과|하고|이랑|랑)[ \t]*$")
_KO_PAIRS = {"이": ("이", "가"), "가": ("이", "가"), "은": ("은", "는"), "는": ("은", "는"), "을": ("을", "를"),
             "를": ("을", "를"), "과": ("과", "와"), "와": ("과", "와"), "이랑": ("이랑", "랑"), "랑": ("이랑", "랑"),
             "으로": ("으로", "로"), "로": ("으로", "로")}


@dataclass(frozen=True, slots=True)
class Edit:
    """One mention to change. `text`/`plural` None means drop the mention."""

    start: int
    end: int
    lang: str
    alias: str = ""
    text: Optional[str] = None
    plural: Optional[str] = None


# -- helpers ---------------------------------------------------------------------------------------------
def wants_an(word: str) -> bool:
    w = word.lstrip("\"'“‘(")
    if not w:
        return False
    if _VOWEL_SOUND_EXCEPTIONS_AN.match(w):
        return True
    if _VOWEL_SOUND_EXCEPTIONS_A.match(w):
        return False
    return w[0].lower() in "aeiou"


def _article_for(word: str, template: str) -> str:
    art = "an" if wants_an(word) else "a"
    if template.isupper() and len(template) > 1:
        return art.upper()
    if template[:1].isupper():
        return art.capitalize()
    return art


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _is_sentence_start(text: str, pos: int) -> bool:
    i = pos
    while i > 0 and text[i - 1] in " \t\"'“‘(「『":
        i -= 1
    return i == 0 or text[i - 1] in _SENTENCE_END


def _prev_words(text: str, floor: int, start: int, limit: int = 4) -> list[tuple[int, int, str]]:
    """Words right before `start` (nearest first), separated only by spaces or tabs, not below `floor`."""
    out: list[tuple[int, int, str]] = []
    pos = start
    while len(out) < limit:
        j = pos
        while j > floor and text[j - 1] in " \t":
            j -= 1
        if j == pos or j <= floor:
            break
        k = j
        while k > floor and (text[k - 1].isalpha() or text[k - 1] in "'’-"):
            k -= 1
        if k == j:
            break
        out.append((k, j, text[k:j]))
        pos = k
    return out


def _is_possessive_word(w: str) -> bool:
    return len(w) > 2 and w[-2:] in ("'s", "’s")


def _is_adjective(w: str) -> bool:
    lw = w.lower()
    if lw in _EN_DET or lw in _EN_FUNCTION:
        return False
    return lw in _EN_ADJ or bool(_EN_ADJ_SUFFIX.search(lw))


def pluralize(phrase: str) -> str:
    """Naive English plural of a noun phrase's last word (used only when a phrase gives no `plural`)."""
    m = _ARTICLE.match(phrase)
    if m:
        phrase = phrase[m.end():]
    head, sep, last = phrase.rpartition(" ")
    lw = last.lower()
    irregular = {"mouse": "mice", "man": "men", "woman": "women", "child": "children", "person": "people",
                 "fox": "foxes", "wolf": "wolves", "elf": "elves", "fairy": "fairies", "goose": "geese"}
    if lw in irregular:
        new = irregular[lw]
    elif re.search(r"[^aeiou]y$", lw):
        new = last[:-1] + "ies"
    elif re.search(r"(?:s|x|z|ch|sh)$", lw):
        new = last + "es"
    else:
        new = last + "s"
    return head + sep + new


def _split_possessive(surface: str, alias: str) -> tuple[str, str, bool]:
    """(core, possessive ending, plural) of an English surface form."""
    a = alias.casefold()
    if surface[-2:] in ("'s", "’s") and not a.endswith(surface[-2:].casefold()):
        core, poss = surface[:-2], surface[-2:]
    elif surface[-2:] in ("s'", "s’") and not a.endswith(surface[-2:].casefold()):
        core, poss = surface[:-1], surface[-1:]
    else:
        core, poss = surface, ""
    plural = bool(a) and core.casefold().endswith("s") and not a.endswith("s") and len(core) > len(alias)
    return core, poss, plural


# -- English -----------------------------------------------------------------------------------------------
def _en_modifiers(text: str, floor: int, start: int):
    """(adjectives nearest first, determiner or None) right before the mention.

    Behind a determiner, any adjective-like word counts ("the sparkling Pikachu"); without one only known
    adjectives do, so that a verb stays outside the noun phrase ("a girl hugging Pikachu")."""
    adjs: list[tuple[int, int, str]] = []
    det = None
    for w in _prev_words(text, floor, start):
        lw = w[2].lower()
        if lw in _EN_DET or _is_possessive_word(w[2]):
            det = w
            break
        if _is_adjective(w[2]) and len(adjs) < 3:
            adjs.append(w)
            continue
        break
    if det is None:
        known = []
        for w in adjs:
            if w[2].lower() not in _EN_ADJ:
                break
            known.append(w)
        adjs = known
    return adjs, det


def _en_replace(text: str, e: Edit, floor: int) -> tuple[str, str]:
    surface = text[e.start : e.end]
    _, poss, plural = _split_possessive(surface, e.alias)
    phrase = e.text or ""
    m = _ARTICLE.match(phrase)
    art, rest = (m.group(1), phrase[m.end():]) if m else ("", phrase)
    adjs, det = _en_modifiers(text, floor, e.start)
    a, b = e.start, e.end
    if plural:
        ins = e.plural or pluralize(phrase)
        if det is not None and det[2].lower() in ("a", "an", "one"):
            ins = rest or phrase  # "a Pikachus" is the user's grammar; keep it singular
    elif det is not None:
        ins = rest if art else phrase
        if not adjs and det[2].lower() in ("a", "an"):
            fixed = _article_for(ins, det[2])
            if fixed != det[2]:
                text = text[: det[0]] + fixed + text[det[1] :]
                shift = len(fixed) - len(det[2])
                a, b = a + shift, b + shift
    elif adjs and art:
        far = adjs[-1]
        article = art.lower() if art.lower() == "the" else _article_for(far[2], "a")
        if _is_sentence_start(text, far[0]):
            article = _cap(article)
            word = far[2]
            if word[:1].isupper() and not word.isupper():
                text = text[: far[0]] + word[:1].lower() + text[far[0] + 1 :]
        text = text[: far[0]] + article + " " + text[far[0]:]
        shift = len(article) + 1
        a, b = a + shift, b + shift
        ins = rest
    else:
        ins = phrase
        if _is_sentence_start(text, a) and text[a : a + 1].isupper():
            ins = _cap(ins)
    replacement = ins + poss
    return text[:a] + replacement + text[b:], replacement


def _join(left: str, right: str, capitalize: bool) -> str:
    """Join two pieces after a removal: one space, no space before punctuation, no doubled commas."""
    ls = left.rstrip(" \t")
    rs = right.lstrip(" \t")
    if capitalize:
        rs = _cap(rs)
    if not ls or ls[-1] in "\n(「『\"“":
        return ls + rs
    if not rs:
        return ls.rstrip(",;:")
    if rs[0] in ",.;:!?)」』。、，！？":
        if ls[-1] in ",;:" and rs[0] in ",;:.!?":
            ls = ls[:-1]
        return ls + rs
    if ls[-1] in "、，。":
        return ls + rs
    return ls + " " + rs


def _latin_drop(text: str, e: Edit, floor: int, ceil: int, conj_after: re.Pattern, conj_before: re.Pattern,
                determiners: frozenset[str], use_adjectives: bool) -> tuple[str, str]:
    a, b = e.start, e.end
    m = re.match(r"['’]s\b", text[b:ceil])
    if m:
        b += m.end()
    words = _prev_words(text, floor, a)
    if use_adjectives:
        adjs, det = _en_modifiers(text, floor, a)
        if det is not None:
            a = det[0]
        elif adjs:
            a = adjs[-1][0]
    elif words and words[0][2].lower() in determiners:
        a = words[0][0]
    elif _EU_ELIDED.search(text[floor:a]):
        a -= len(_EU_ELIDED.search(text[floor:a]).group())
    sentence_start = _is_sentence_start(text, a)
    capitalize = sentence_start and text[a : a + 1].isupper()
    after = conj_after.match(text, b, ceil) if b < ceil else None
    if after is not None and (after.end() >= ceil or text[after.end() : after.end() + 1].isspace()):
        after = None
    before = conj_before.search(text[floor:a])
    if before is not None and floor + before.start() == 0:
        before = None
    if after is not None and before is not None and (before.group().strip() == "," or after.group().strip() == ","):
        # A bare comma on one side: remove the other side's link with the mention, e.g.
        # "Pikachu, Eevee and Mew" - Eevee -> "Pikachu and Mew"; "a forest with Pikachu, at dawn" -> "a forest, at dawn"
        after = None
    if after is not None:
        b = after.end()
    elif before is not None:
        a = floor + before.start()
        capitalize = False
    return _join(text[:a], text[b:], capitalize), ""


# -- French, German, Spanish, Italian -------------------------------------------------------------------------
def _eu_replace(text: str, e: Edit, floor: int) -> tuple[str, str]:
    a, b = e.start, e.end
    lang = e.lang.split("-")[0]
    words = _prev_words(text, floor, a, limit=1)
    if words and words[0][2].lower() in _EU_DET[lang]:
        a = words[0][0]
    else:
        m = _EU_ELIDED.search(text[floor:a])
        if m is not None:
            a -= len(m.group())
    ins = e.text or ""
    if _is_sentence_start(text, a) and text[a : a + 1].isupper():
        ins = _cap(ins)
    elif lang == "fr" and ins[:1].lower() in "aeiouyhéè":
        m = _FR_ELIDABLE.search(text[floor:a])
        if m is not None:  # "de une" -> "d'une"
            a = floor + m.start()
            ins = m.group(1) + "'" + ins
    return text[:a] + ins + text[b:], ins


# -- Japanese ----------------------------------------------------------------------------------------------
def _ja_drop(text: str, e: Edit, floor: int, ceil: int) -> tuple[str, str]:
    a, b = e.start, e.end
    m = _JA_SUFFIX.match(text, b, ceil)
    if m is not None:
        b = m.end()
    nxt = text[b : b + 1] if b < ceil else ""
    before = text[floor:a]
    if _JA_CONNECTOR_BEFORE.search(before) and nxt and nxt in _JA_CASE_PARTICLES:
        a -= 1  # "イーブイとピカチュウが" -> "イーブイが"
    else:
        m = _JA_PARTICLE_AFTER.match(text, b, ceil) if b < ceil else None
        if m is not None:
            b = m.end()
    return text[:a] + text[b:], ""


# -- Chinese -----------------------------------------------------------------------------------------------
def _zh_replace(text: str, e: Edit, floor: int) -> tuple[str, str]:
    ins = e.text or ""
    if _ZH_NUM_CLASSIFIER.search(text[floor : e.start]) and _ZH_PHRASE_CLASSIFIER.match(ins):
        ins = ins[2:]
    return text[: e.start] + ins + text[e.end :], ins


def _zh_drop(text: str, e: Edit, floor: int, ceil: int) -> tuple[str, str]:
    a, b = e.start, e.end
    if text.startswith("的", b) and b < ceil:
        b += 1
        m = _ZH_NUM_CLASSIFIER.search(text[floor:a])
        if m is not None:
            a = floor + m.start()
        return text[:a] + text[b:], ""
    m = _ZH_CONNECTOR_BEFORE.search(text[floor:a])
    if m is not None and floor + m.start() > floor:
        a = floor + m.start()
        return text[:a] + text[b:], ""
    m = _ZH_NUM_CLASSIFIER.search(text[floor:a])
    if m is not None:
        a = floor + m.start()
    m = _ZH_CONNECTOR.match(text, b, ceil) if b < ceil else None
    if m is not None:
        b = m.end()
    return text[:a] + text[b:], ""


# -- Korean ------------------------------------------------------------------------------------------------
def _batchim(ch: str) -> Optional[int]:
    """Final consonant index of a Hangul syllable (0: none, 8: ㄹ), None for anything else."""
    code = ord(ch) - 0xAC00
    if 0 <= code < 11172:
        return code % 28
    return None


def _ko_fix_particle(text: str, pos: int) -> str:
    """Re-choose the particle at `pos` for the syllable right before it."""
    if pos <= 0:
        return text
    m = _KO_PARTICLE.match(text, pos)
    if m is None or m.group() not in _KO_PAIRS:
        return text
    jong = _batchim(text[pos - 1])
    if jong is None:
        return text
    with_final, without = _KO_PAIRS[m.group()]
    if with_final == "으로":
        new = "로" if jong in (0, 8) else "으로"
    else:
        new = with_final if jong else without
    return text[:pos] + new + text[m.end():]


def _ko_replace(text: str, e: Edit) -> tuple[str, str]:
    ins = e.text or ""
    out = text[: e.start] + ins + text[e.end :]
    return _ko_fix_particle(out, e.start + len(ins)), ins


def _ko_drop(text: str, e: Edit, floor: int, ceil: int) -> tuple[str, str]:
    a, b = e.start, e.end
    part = _KO_PARTICLE.match(text, b, ceil) if b < ceil else None
    conn = _KO_CONNECTOR_BEFORE.search(text[floor:a])
    if conn is not None and part is not None and part.group() not in ("와", "과", "하고", "랑", "이랑"):
        a = floor + conn.start()  # "이브이와 피카츄가" -> "이브이가"
        out = text[:a] + text[b:]
        return _ko_fix_particle(out, a), ""
    if part is not None:
        b = part.end()
    while b < ceil and text[b] in " \t":
        b += 1
    return text[:a] + text[b:], ""


# -- entry point -------------------------------------------------------------------------------------------
def apply_one(text: str, e: Edit, floor: int = 0, ceil: Optional[int] = None) -> tuple[str, str]:
    """Apply one edit; returns the new text and what replaced the mention ("" for a drop)."""
    if ceil is None:
        ceil = len(text)
    lang = e.lang.split("-")[0]
    drop = e.text is None
    if lang == "ja":
        return _ja_drop(text, e, floor, ceil) if drop else (text[: e.start] + e.text + text[e.end :], e.text)
    if lang == "zh":
        return _zh_drop(text, e, floor, ceil) if drop else _zh_replace(text, e, floor)
    if lang == "ko":
        return _ko_drop(text, e, floor, ceil) if drop else _ko_replace(text, e)
    if lang in _EU_DET:
        if drop:
            conj = _EU_CONJ[lang]
            after = re.compile(rf"[ \t]*(?:,[ \t]*|[ \t]+(?:{conj})[ \t]+)", re.I)
            before = re.compile(rf"(?:[ \t]*,[ \t]*|[ \t]+(?:{conj})[ \t]*)$", re.I)
            return _latin_drop(text, e, floor, ceil, after, before, _EU_DET[lang], False)
        return _eu_replace(text, e, floor)
    if drop:
        return _latin_drop(text, e, floor, ceil, _EN_CONJ_AFTER, _EN_CONJ_BEFORE, _EN_DET, True)
    return _en_replace(text, e, floor)


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix, by halving: each step compares slices at C speed, where a loop over
    the characters would cost a Python step each (a long prompt with thousands of edits)."""
    lo, hi = 0, min(len(a), len(b))  # a[:lo] == b[:lo]; the answer is in [lo, hi]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def apply_edits(text: str, edits: list[Edit], protected: list[tuple[int, int]] = ()) -> tuple[str, list[str]]:
    """Apply edits right to left. `protected` are the spans of all mentions (edited or not): no edit reaches
    past its neighbours. Returns the new text and, per edit in the given order, what replaced the mention.
    Edits of one span (a name that several characters share: Nidoran) replace it once, by the first of them; an
    edit inside another's span (Pikachu in the title ピカチュウのなつやすみ) is done by that one."""
    if len(edits) == 1:  # the usual rewrite: its neighbours directly, without the sorted lists
        e = edits[0]
        floor, ceil = 0, len(text)
        for a, b in (*protected, (e.start, e.end)):
            if floor < b <= e.start:
                floor = b
            if e.end <= a < ceil:
                ceil = a
        new, result = apply_one(text, e, floor, max(e.end, ceil))
        return new, [result]
    first: dict[tuple[int, int], int] = {}
    for i, e in enumerate(edits):
        first.setdefault((e.start, e.end), i)
    spans = set(protected) | set(first)
    starts = sorted(s_start for s_start, _ in spans)
    ends = sorted(s_end for _, s_end in spans)
    outer = _outermost(list(first))
    order = sorted({first[outer[span]] for span in first}, key=lambda i: edits[i].start, reverse=True)
    results = [""] * len(edits)
    changed_from = len(text)  # text at or after this index was changed by edits further right
    last = order[-1] if order else -1
    for i in order:
        e = edits[i]
        k = bisect_right(ends, e.start)  # the greatest span end at or before the edit, else 0
        floor = ends[k - 1] if k else 0
        k = bisect_left(starts, e.end)  # the least span start at or after its end, else the text's end
        ceil = starts[k] if k < len(starts) else len(text)
        ceil = max(e.end, min(ceil, changed_from, len(text)))
        new, results[i] = apply_one(text, e, floor, ceil)
        if i != last:  # where the next edit (to the left) must stop
            changed_from = _common_prefix(text, new)
        text = new
    if len(order) < len(edits):
        results = [results[first[outer[(e.start, e.end)]]] for e in edits]
    return text, results


def _outermost(spans: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, int]]:
    """Each span's outermost span of `spans` that holds it (itself when none does)."""
    out: dict[tuple[int, int], tuple[int, int]] = {}
    current: Optional[tuple[int, int]] = None
    for span in sorted(spans, key=lambda sp: (sp[0], -sp[1])):
        if current is None or span[1] > current[1] or span[0] >= current[1]:
            current = span
        out[span] = current
    return out
