"""A seeded synthetic eval set of the same kind as shared/eval/dev.jsonl, to check that detection generalizes.

    python benchmarks/synthetic_eval.py [--seed N] [--scale F] [--out PATH] [--examples K] [--no-misses]

It draws random characters from shared/data/characters (both franchises, every language the data has), puts
them into prompt templates that are NOT dev's, applies spelling variants, obfuscations and typos
programmatically, adds context cases for the curated ambiguous names and hand-written negatives, writes the set
to benchmarks/results/synthetic_eval.jsonl, scores it with benchmarks/eval_dev.py's `evaluate()`, and prints the
per-category figures, a per-kind breakdown and the misses grouped by kind with a diagnosis of each.

Each case has the dev fields (id, category, lang, prompt, expected) plus `kind` (how it was made), `form` (the
name as written into the prompt) and `base` (the name it came from).

The generator does not look at the lexicon or at the guard: names come from the shared data, and the romanizer
and the obfuscation tables are its own. Its templates, cue words and negative sentences are fixed text, though:
once the detector is tuned on this file's output they stop measuring generalization (a new seed only re-samples
names). Check with fresh vocabulary (new templates, cues, negatives) before trusting a figure.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "characters"
OUT = ROOT / "benchmarks" / "results" / "synthetic_eval.jsonl"
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

# ----------------------------------------------------------------------------------------------------------
# Templates (deliberately unlike dev's: no fog/trailer, ramen, violin/rooftop, desert aerial shots).
# {X} {Y} {Z}: names. Korean particle slots {이/가} etc. are resolved after the name is filled in.
# ----------------------------------------------------------------------------------------------------------
T_EN = [
    "watercolor painting of {X} napping under a cherry blossom tree",
    "{X} surfing a giant wave at sunrise, dynamic angle",
    "low-poly 3D render of {X} standing on a floating island",
    "a knitted plush of {X} sitting on a bookshelf",
    "stained glass window depicting {X}",
    "make a sticker of {X} with a thick white outline",
    "claymation scene: {X} baking bread in a rustic kitchen",
    "neon alley at midnight, {X} leaning against a vending machine",
    "{X}, pixel art, 16-bit, side view",
    "a vintage travel poster with {X} flying over snowy mountains",
    "draw {X}!",
    "photo of a birthday cake decorated like {X}",
    "Can you generate {X} as a chess piece? studio lighting",
    "#{X} fanart, soft pastel palette",
    "oil portrait (\"{X}\") in a gilded frame",
    # Everyday words that happen to be romanized Japanese names of other characters (fire, sand, lantern, ghost).
    "{X} breathing fire over a medieval castle",
    "{X} building a sand castle on the beach",
    "{X} carrying a paper lantern through the snow",
    "{X} dressed as a ghost for Halloween",
]
T_JA = [
    "桜の木の下で昼寝をする{X}の水彩画",
    "{X}が夜明けの大波でサーフィンしている",
    "浮島に立つ{X}のローポリ3Dレンダー",
    "本棚に座っている{X}の編みぐるみ",
    "黄色いレインコートを着た{X}、雨上がりの街角",
    "{X}を描いたステンドグラス",
    "{X}のステッカーを作って",
    "ネオン街の自販機にもたれる{X}",
    "{X}、ドット絵、横向き",
    "{X}は田舎の台所でパンを焼いている",
    "子どもたちが{X}と一緒に公園で遊ぶ",
    "チェスの駒になった{X}、スタジオ撮影",
    "「{X}」の油絵風ポートレート",
    "{X}がキャンプファイヤーを囲む夏の夜",
]
T_ZH = [
    "樱花树下睡午觉的{X}水彩画",
    "{X}在日出时的巨浪上冲浪",
    "站在浮空岛上的{X}，低多边形渲染",
    "书架上放着一个{X}的毛线玩偶",
    "穿着黄色小雨衣的{X}，阴天",
    "画一张{X}的贴纸，白色粗描边",
    "霓虹灯小巷里靠着自动售货机的{X}",
    "像素风的{X}，侧面视角",
    "{X}在乡村厨房里烤面包",
    "请生成一个{X}造型的生日蛋糕照片",
    "「{X}」的油画肖像，金色画框",
]
T_KO = [
    "벚꽃나무 아래에서 낮잠 자는 {X}의 수채화",
    "{X}{이/가} 해 뜰 무렵 큰 파도를 타고 서핑한다",
    "떠다니는 섬 위에 서 있는 {X}, 로우폴리 3D 렌더",
    "책장에 앉아 있는 {X} 뜨개 인형",
    "노란 우비를 입은 {X}, 흐린 날",
    "{X}{을/를} 그린 스테인드글라스 창문",
    "{X}{과/와} 함께 공원에서 노는 아이들",
    "네온 골목에서 자판기에 기대어 있는 {X}",
    "{X}{은/는} 시골 부엌에서 빵을 굽는다",
    "{X}처럼 생긴 생일 케이크 사진",
    "{X}에게 편지를 쓰는 소녀",
    "{X}{이랑/랑} 산책하는 강아지",
    "{X}도 체스 말이 되었다, 스튜디오 조명",
    "{X}에게서 선물을 받은 아이",
    "{X}만큼 큰 케이크를 든 제빵사",
    "{X}한테 꽃다발을 건네는 소녀",
    "{X}보다 작은 고양이가 창가에 앉아 있다",
    "캠프 파이어 앞에 앉은 {X}",
]
T_FR = [
    "aquarelle de {X} faisant la sieste sous un cerisier",
    "{X} surfe sur une vague géante au lever du soleil",
    "une peluche tricotée de {X} posée sur une étagère",
    "{X} portant un petit imperméable jaune sous la pluie",
    "vitrail représentant {X}",
    "affiche de voyage rétro avec {X} au-dessus des montagnes",
]
T_DE = [
    "Aquarell von {X}, der unter einem Kirschbaum schläft",
    "{X} surft bei Sonnenaufgang auf einer riesigen Welle",
    "ein gestricktes Plüschtier von {X} im Bücherregal",
    "{X} mit einem kleinen gelben Regenmantel im Regen",
    "Buntglasfenster mit {X}",
    "Retro-Reiseplakat: {X} über verschneiten Bergen",
]
T_ES = [
    "acuarela de {X} durmiendo la siesta bajo un cerezo",
    "{X} surfeando una ola gigante al amanecer",
    "un peluche tejido de {X} sentado en una estantería",
    "{X} con un pequeño impermeable amarillo bajo la lluvia",
    "vitral que representa a {X}",
]
T_IT = [
    "acquerello di {X} che fa un pisolino sotto un ciliegio",
    "{X} che surfa su un'onda gigante all'alba",
    "un peluche all'uncinetto di {X} su una mensola",
    "{X} con un piccolo impermeabile giallo sotto la pioggia",
    "vetrata raffigurante {X}",
]
T_PT = [
    "aquarela de {X} tirando um cochilo debaixo de uma cerejeira",
    "{X} surfando uma onda gigante ao nascer do sol",
    "um boneco de crochê de {X} numa estante",
    "vitral mostrando {X}",
]
T_RU = [
    "акварель: {X} спит под цветущей сакурой",
    "{X} катается на огромной волне на рассвете",
    "вязаная игрушка «{X}» на книжной полке",
    "витраж с изображением персонажа {X}",
]
T_ID = [
    "lukisan cat air {X} tidur siang di bawah pohon sakura",
    "{X} berselancar di ombak besar saat matahari terbit",
    "boneka rajut {X} di rak buku",
]
T_TH = [
    "ภาพสีน้ำของ{X}กำลังงีบหลับใต้ต้นซากุระ",
    "{X}โต้คลื่นยักษ์ตอนพระอาทิตย์ขึ้น",
    "ตุ๊กตาถักรูป {X} บนชั้นหนังสือ",
]
T_TR = [
    "kiraz ağacının altında uyuyan {X} suluboya resmi",
    "{X} gün doğarken dev bir dalgada sörf yapıyor",
    "{X}'in yağlı boya portresi",
]
T_VI = [
    "tranh màu nước {X} ngủ trưa dưới gốc anh đào",
    "{X} lướt sóng lớn lúc bình minh",
    "thú bông len hình {X} trên kệ sách",
]

MIX_EN = [
    "{X} and {Y} sharing an umbrella at a bus stop",
    "a duel between {X} and {Y} on a frozen lake",
    "{X}, {Y} and {Z} posing for a group photo",
    "{X} vs {Y}, trading card art",
]
MIX_JA = ["{X}と{Y}がバス停で傘をシェアしている", "{X}と{Y}と{Z}の集合写真", "凍った湖で{X}が{Y}と対決する"]
MIX_ZH = ["{X}和{Y}在公交站共撑一把伞", "{X}、{Y}和{Z}的合影", "{X}与{Y}在结冰的湖面上对决"]
MIX_KO = ["{X}{과/와} {Y}{이/가} 버스 정류장에서 우산을 같이 쓴다", "{X}, {Y}, {Z}의 단체 사진"]
MIX_FR = ["{X} et {Y} partagent un parapluie à l'arrêt de bus"]
MIX_DE = ["{X} und {Y} teilen sich einen Regenschirm an der Bushaltestelle"]
MIX_ES = ["{X} y {Y} comparten un paraguas en la parada del autobús"]

PLURAL_EN = [
    "three {P} napping in a pile of leaves",
    "a flock of {P} over the lake at dusk",
    "wallpaper pattern with tiny {P} everywhere",
    "two {P} arguing over a sandwich",
]
POSSESSIVE_EN = [
    "close-up of {S} eyes, macro lens",
    "{S} tail glowing in the dark",
    "a sketch of {S} favourite hat",
]


def _opencc(config: str):
    import opencc

    for c in (config, config + ".json"):
        try:
            return opencc.OpenCC(c)
        except Exception:  # noqa: BLE001
            continue
    raise RuntimeError(f"opencc config {config} unavailable")


_S2T = None
_T2S = None


def s2t(text: str) -> str:
    global _S2T
    if _S2T is None:
        _S2T = _opencc("s2t")
    return _S2T.convert(text)


def t2s(text: str) -> str:
    global _T2S
    if _T2S is None:
        _T2S = _opencc("t2s")
    return _T2S.convert(text)


T_ZH_HANT = [s2t(t) for t in T_ZH]
MIX_ZH_HANT = [s2t(t) for t in MIX_ZH]

TEMPLATES = {
    "en": T_EN, "ja": T_JA, "zh-Hans": T_ZH, "zh-Hant": T_ZH_HANT, "ko": T_KO, "fr": T_FR, "de": T_DE,
    "es": T_ES, "it": T_IT, "pt": T_PT, "ru": T_RU, "id": T_ID, "th": T_TH, "tr": T_TR, "vi": T_VI,
}
MIX_TEMPLATES = {
    "en": MIX_EN, "ja": MIX_JA, "zh-Hans": MIX_ZH, "zh-Hant": MIX_ZH_HANT, "ko": MIX_KO, "fr": MIX_FR,
    "de": MIX_DE, "es": MIX_ES,
}
# Which template language a name's language tag is written in.
TEMPLATE_LANG = {"ja-Hrkt": "ja", "ja-Latn": "en", "es-419": "es"}


def template_lang(tag: str) -> str:
    return TEMPLATE_LANG.get(tag, tag)


# ----------------------------------------------------------------------------------------------------------
# Korean particles
# ----------------------------------------------------------------------------------------------------------
_KO_SLOT = re.compile(r"\{([^{}/]+)/([^{}/]+)\}")


def _has_batchim(ch: str) -> Optional[bool]:
    if "\uac00" <= ch <= "\ud7a3":
        return (ord(ch) - 0xAC00) % 28 != 0
    return None


def resolve_particles(text: str) -> str:
    def rep(m: re.Match) -> str:
        before = text[: m.start()].rstrip()
        last = before[-1:] if before else ""
        b = _has_batchim(last) if last else None
        return m.group(1) if b else m.group(2)

    # Resolve left to right so each slot sees the text before it.
    while True:
        m = _KO_SLOT.search(text)
        if not m:
            return text
        text = text[: m.start()] + rep(m) + text[m.end():]


def fill(template: str, **names: str) -> str:
    """Fill the template's name slots and resolve its Korean particle slots."""
    out = template
    for key, value in names.items():
        out = out.replace("{" + key + "}", value)
    return resolve_particles(out)


# ----------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------
def load_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


class Data:
    def __init__(self, root: Path):
        self.pokemon = load_jsonl(root / "pokemon.jsonl")
        self.genshin = load_jsonl(root / "genshin_impact.jsonl")
        self.records = self.pokemon + self.genshin
        self.by_id = {r["id"]: r for r in self.records}
        self.ambiguous = load_jsonl(root / "ambiguous_names.jsonl")
        self.ambiguous_pairs = {(a["lang"], a["name"]) for a in self.ambiguous}
        # The curated words as strings: "Jean" is listed for en, but es/fr/pt/... write the same "Jean".
        self.ambiguous_strings = {a["name"].casefold() for a in self.ambiguous}
        self.ambiguous_ids = {a["id"] for a in self.ambiguous}
        # Every name string, case-folded, for "does this edit collide with a real name" checks.
        self.all_names = {n.casefold() for r in self.records for vs in r["names"].values() for n in vs}

    def franchise_key(self, cid: str) -> str:
        return "pokemon" if cid.startswith("pokemon/") else "genshin"

    def name(self, cid: str, lang: str) -> Optional[str]:
        vs = self.by_id[cid]["names"].get(lang)
        return vs[0] if vs else None


# ----------------------------------------------------------------------------------------------------------
# Romanization (own Hepburn/Kunrei table, independent of the guard's pykakasi use)
# ----------------------------------------------------------------------------------------------------------
_KANA = {
    "ア": "a", "イ": "i", "ウ": "u", "エ": "e", "オ": "o",
    "カ": "ka", "キ": "ki", "ク": "ku", "ケ": "ke", "コ": "ko",
    "ガ": "ga", "ギ": "gi", "グ": "gu", "ゲ": "ge", "ゴ": "go",
    "サ": "sa", "シ": "shi", "ス": "su", "セ": "se", "ソ": "so",
    "ザ": "za", "ジ": "ji", "ズ": "zu", "ゼ": "ze", "ゾ": "zo",
    "タ": "ta", "チ": "chi", "ツ": "tsu", "テ": "te", "ト": "to",
    "ダ": "da", "ヂ": "ji", "ヅ": "zu", "デ": "de", "ド": "do",
    "ナ": "na", "ニ": "ni", "ヌ": "nu", "ネ": "ne", "ノ": "no",
    "ハ": "ha", "ヒ": "hi", "フ": "fu", "ヘ": "he", "ホ": "ho",
    "バ": "ba", "ビ": "bi", "ブ": "bu", "ベ": "be", "ボ": "bo",
    "パ": "pa", "ピ": "pi", "プ": "pu", "ペ": "pe", "ポ": "po",
    "マ": "ma", "ミ": "mi", "ム": "mu", "メ": "me", "モ": "mo",
    "ヤ": "ya", "ユ": "yu", "ヨ": "yo",
    "ラ": "ra", "リ": "ri", "ル": "ru", "レ": "re", "ロ": "ro",
    "ワ": "wa", "ヰ": "i", "ヱ": "e", "ヲ": "o", "ン": "n", "ヴ": "vu",
}
_SMALL_VOWEL = {"ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o", "ヮ": "a"}
_SMALL_Y = {"ャ": "a", "ュ": "u", "ョ": "o"}
_KUNREI = [("shi", "si"), ("chi", "ti"), ("tsu", "tu"), ("fu", "hu"), ("ji", "zi"), ("sh", "sy"), ("ch", "ty"), ("j", "zy")]
_MACRON = {"a": "ā", "i": "ī", "u": "ū", "e": "ē", "o": "ō"}
_CIRCUMFLEX = {"a": "â", "i": "î", "u": "û", "e": "ê", "o": "ô"}


def kana_syllables(kana: str) -> Optional[list[str]]:
    """Katakana (or hiragana) -> list of romaji syllables; 'ー' stays as a marker, 'ッ' as 'Q'."""
    import jaconv

    kata = jaconv.hira2kata(kana)
    out: list[str] = []
    for ch in kata:
        if ch in _KANA:
            out.append(_KANA[ch])
        elif ch in _SMALL_Y and out:
            prev = out.pop()
            if prev in ("shi", "chi", "ji"):
                out.append(prev[:-1] + _SMALL_Y[ch])
            elif prev.endswith("i"):
                out.append(prev[:-1] + "y" + _SMALL_Y[ch])
            else:
                out.append(prev.rstrip("aiueo") + "y" + _SMALL_Y[ch])
        elif ch in _SMALL_VOWEL and out:
            prev = out.pop()
            v = _SMALL_VOWEL[ch]
            if prev in ("ku", "gu") and v == "a":
                out.append(prev[0] + "wa")
                continue
            base = prev.rstrip("aiueo")
            if prev == "u":
                base = "w"
            elif prev == "i":
                base = "y"
            elif prev in ("shi", "chi", "ji"):
                base = prev[:-1]
            out.append(base + v)
        elif ch == "ー":
            out.append("ー")
        elif ch == "ッ":
            out.append("Q")
        elif ch in "・ ":
            out.append(" ")
        else:
            return None
    return out


def romanize(kana: str, style: str, rng: random.Random) -> Optional[str]:
    """style: double (pikachuu), macron (pikachū), circumflex (pikachû), short (pikachu), kunrei (pikatyuu)."""
    syl = kana_syllables(kana)
    if syl is None:
        return None
    text = ""
    for i, s in enumerate(syl):
        if s == "ー":
            v = text[-1:] if text[-1:] in "aiueo" else ""
            if not v:
                continue
            if style in ("double", "kunrei"):
                text += v
            elif style == "macron":
                text = text[:-1] + _MACRON[v]
            elif style == "circumflex":
                text = text[:-1] + _CIRCUMFLEX[v]
            # short: drop
            continue
        if s == "Q":
            continue  # handled when the next syllable is added
        if i > 0 and syl[i - 1] == "Q":
            s = ("t" + s) if s.startswith("ch") else (s[0] + s)
        if s == "n" and i + 1 < len(syl) and syl[i + 1][:1] in "aiueoy" and syl[i + 1] not in ("ー", "Q"):
            s = "n'" if style == "double" and rng.random() < 0.3 else "n"
        text += s
    if style == "kunrei":
        for a, b in _KUNREI:
            text = text.replace(a, b)
    # Vowel-pair long vowels.
    if style in ("macron", "circumflex"):
        table = _MACRON if style == "macron" else _CIRCUMFLEX
        text = re.sub(r"ou|oo", table["o"], text)
        text = re.sub(r"uu", table["u"], text)
        text = re.sub(r"aa", table["a"], text)
    elif style == "short":
        text = re.sub(r"ou|oo", "o", text)
        text = re.sub(r"uu", "u", text)
        text = re.sub(r"aa", "a", text)
        text = re.sub(r"ii", "i", text)
        text = re.sub(r"ee", "e", text)
    text = " ".join(w.capitalize() for w in text.split())
    return text or None


# ----------------------------------------------------------------------------------------------------------
# Kana variants
# ----------------------------------------------------------------------------------------------------------
_VOWEL_ROW = {}
for _v, _row in {
    "a": "アカガサザタダナハバパマヤャラワァ", "i": "イキギシジチヂニヒビピミリィ", "u": "ウクグスズツヅヌフブプムユュルゥヴ",
    "e": "エケゲセゼテデネヘベペメレェ", "o": "オコゴソゾトドノホボポモヨョロヲォ",
}.items():
    for _c in _row:
        _VOWEL_ROW[_c] = _v
_VOWEL_KANA = {"a": "ア", "i": "イ", "u": "ウ", "e": "エ", "o": "オ"}
_KATAKANA_NAME = re.compile(r"^[\u30a1-\u30fa\u30fc・]+$")


def is_katakana_name(name: str) -> bool:
    return bool(_KATAKANA_NAME.match(name))


def long_vowel_swaps(name: str) -> list[str]:
    """ピカチュウ -> ピカチュー; リザードン -> リザアドン; ミュウツー -> ミュウツウ; ボーマンダ -> ボウマンダ."""
    out = []
    for i, ch in enumerate(name):
        prev = name[i - 1] if i else ""
        v = _VOWEL_ROW.get(prev)
        if ch == "ー" and v:
            out.append(name[:i] + _VOWEL_KANA[v] + name[i + 1:])
            if v == "o":
                out.append(name[:i] + "ウ" + name[i + 1:])
            if v == "e":
                out.append(name[:i] + "イ" + name[i + 1:])
        elif ch == "ウ" and v in ("o", "u"):
            out.append(name[:i] + "ー" + name[i + 1:])
        elif ch == "イ" and v == "e":
            out.append(name[:i] + "ー" + name[i + 1:])
        elif ch in "アイウエオ" and v == _VOWEL_ROW.get(ch) and ch != "ウ":
            out.append(name[:i] + "ー" + name[i + 1:])
    return [o for o in dict.fromkeys(out) if o != name]


# ----------------------------------------------------------------------------------------------------------
# Obfuscations
# ----------------------------------------------------------------------------------------------------------
LEET_BASIC = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
LEET_EXTRA = {"a": "@", "s": "$", "l": "1", "g": "9", "b": "8", "i": "!"}
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
# Latin letter -> look-alike Cyrillic / Greek letters (own table).
HOMOGLYPHS = {
    "a": ["а", "α"], "c": ["с"], "e": ["е"], "o": ["о", "ο"], "p": ["р", "ρ"], "x": ["х", "χ"], "y": ["у"],
    "i": ["і", "ι"], "j": ["ј"], "s": ["ѕ"], "k": ["κ"], "v": ["ν"],
    "A": ["А", "Α"], "B": ["В", "Β"], "C": ["С"], "E": ["Е", "Ε"], "H": ["Н", "Η"], "I": ["І", "Ι"],
    "K": ["К", "Κ"], "M": ["М", "Μ"], "O": ["О", "Ο"], "P": ["Р", "Ρ"], "T": ["Т", "Τ"], "X": ["Х", "Χ"],
    "Y": ["Υ", "У"], "Z": ["Ζ"], "N": ["Ν"], "S": ["Ѕ"], "J": ["Ј"],
}
# Cyrillic п (pe) reads as n in most lower-case fonts but is not in Unicode's confusables data: its own kind.
SPACERS = [" ", " ", " ", ".", "-", "_", "*", "  "]
CJK_SPACERS = [" ", "　", "・", "·", " "]


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def leet(name: str, rng: random.Random, extra: bool) -> Optional[str]:
    table = dict(LEET_BASIC)
    if extra:
        table.update(LEET_EXTRA)
    positions = [i for i, c in enumerate(name) if c.lower() in table]
    if not positions:
        return None
    k = max(1, min(len(positions), rng.choice([1, 1, 2, 2, 3])))
    chosen = set(rng.sample(positions, k))
    out = "".join(table[c.lower()] if i in chosen else c for i, c in enumerate(name))
    return out if out != name else None


def letter_positions(name: str) -> list[int]:
    return [i for i, c in enumerate(name) if c.isalnum()]


def insert_zero_width(name: str, rng: random.Random) -> Optional[str]:
    gaps = [i for i in range(1, len(name)) if name[i - 1].isalnum() and name[i].isalnum()]
    if not gaps:
        return None
    out = list(name)
    for i in sorted(rng.sample(gaps, min(len(gaps), rng.choice([1, 1, 2]))), reverse=True):
        out.insert(i, rng.choice(ZERO_WIDTH))
    return "".join(out)


def space_out(name: str, rng: random.Random, cjk: bool) -> Optional[str]:
    letters = [c for c in name if not c.isspace()]
    if len(letters) < 2:
        return None
    sep = rng.choice(CJK_SPACERS if cjk else SPACERS)
    return sep.join(letters)


def homoglyph(name: str, rng: random.Random, table: dict = HOMOGLYPHS) -> Optional[str]:
    positions = [i for i, c in enumerate(name) if c in table]
    if not positions:
        return None
    k = max(1, min(len(positions), rng.choice([1, 2, 2, 3])))
    chosen = set(rng.sample(positions, k))
    return "".join(rng.choice(table[c]) if i in chosen else c for i, c in enumerate(name))


def partial_fullwidth(name: str, rng: random.Random) -> str:
    return fullwidth(name) if rng.random() < 0.7 else "".join(fullwidth(c) if rng.random() < 0.5 else c for c in name)


# ----------------------------------------------------------------------------------------------------------
# Typos
# ----------------------------------------------------------------------------------------------------------
KEYBOARD = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok", "o": "ipl",
    "p": "ol", "a": "qsz", "s": "adwx", "d": "sfe", "f": "dgr", "g": "fht", "h": "gjy", "j": "hku", "k": "jli",
    "l": "ko", "z": "xa", "x": "zcs", "c": "xvd", "v": "cbf", "b": "vng", "n": "bmh", "m": "nj",
}


def typo(name: str, op: str, rng: random.Random) -> Optional[tuple[str, str]]:
    """One edit on the letters of `name`. Returns (typo, where) with where in first|last|inner."""
    pos = [i for i, c in enumerate(name) if c.isalpha() and c.isascii()]
    if len(pos) < 6:
        return None
    if op == "transpose":
        pairs = [i for i in pos if i + 1 < len(name) and name[i + 1].isalpha() and name[i].lower() != name[i + 1].lower()]
        if not pairs:
            return None
        i = rng.choice(pairs)
        a, b = name[i], name[i + 1]
        if i == 0:
            a, b = (b.upper() if a.isupper() else b), (a.lower() if a.isupper() else a)
        out = name[:i] + b + a + name[i + 2:]
    elif op == "delete":
        i = rng.choice(pos)
        out = name[:i] + name[i + 1:]
        if i == 0:
            out = out[:1].upper() + out[1:] if name[0].isupper() else out
    elif op == "substitute":
        i = rng.choice(pos)
        c = name[i].lower()
        choices = KEYBOARD.get(c, "") if rng.random() < 0.6 else "aeiou"
        choices = [x for x in choices if x != c]
        if not choices:
            return None
        r = rng.choice(choices)
        out = name[:i] + (r.upper() if name[i].isupper() else r) + name[i + 1:]
    elif op == "insert":
        i = rng.choice(pos + [pos[-1] + 1])
        if rng.random() < 0.5 and i > 0 and name[i - 1].isalpha():
            r = name[i - 1].lower()  # doubled letter
        else:
            near = KEYBOARD.get(name[min(i, len(name) - 1)].lower(), "") or "aeiou"
            r = rng.choice(near)
        if i == 0 and name[0].isupper():
            out = r.upper() + name[0].lower() + name[1:]
        else:
            out = name[:i] + r + name[i:]
    else:
        raise ValueError(op)
    first, last = pos[0], pos[-1]
    where = "first" if i <= first else "last" if i >= last else "inner"
    return out, where


# ----------------------------------------------------------------------------------------------------------
# Context, cues, negatives
# ----------------------------------------------------------------------------------------------------------
FRANCHISE_NAMES = {
    "pokemon": {
        "en": ["Pokémon", "Pokemon", "POKEMON"], "ja": ["ポケモン", "ポケットモンスター"], "ko": ["포켓몬"],
        "zh-Hans": ["宝可梦", "神奇宝贝"], "zh-Hant": ["寶可夢", "神奇寶貝"], "fr": ["Pokémon"], "de": ["Pokémon"],
        "es": ["Pokémon"], "it": ["Pokémon"],
    },
    "genshin": {
        "en": ["Genshin Impact", "Genshin", "GENSHIN IMPACT"], "ja": ["原神", "原神インパクト"], "ko": ["원신"],
        "zh-Hans": ["原神"], "zh-Hant": ["原神"], "fr": ["Genshin Impact"], "de": ["Genshin Impact"],
        "es": ["Genshin Impact"], "it": ["Genshin Impact"],
    },
}
# Cue words: ones the bundled lexicon listed when this generator was written, and extra ones it did not list
# then (it has since added many of them, so `context/cue-extra` no longer measures unseen vocabulary).
CUES_LISTED = {
    "pokemon": {"en": ["Poké Ball", "Pokédex", "gym leader", "Team Rocket", "Professor Oak"], "ja": ["モンスターボール", "ロケット団"],
                "ko": ["몬스터볼"], "zh-Hans": ["精灵球"], "zh-Hant": ["精靈球"], "de": ["Pokébälle"], "fr": ["Dresseur Pokémon"]},
    "genshin": {"en": ["Teyvat", "Mondstadt", "Liyue", "Paimon", "Inazuma"], "ja": ["テイワット", "パイモン", "稲妻"],
                "ko": ["티바트", "페이몬", "몬드"], "zh-Hans": ["提瓦特", "璃月", "派蒙"], "zh-Hant": ["提瓦特", "璃月", "派蒙"],
                "de": ["Mondstadt"], "fr": ["Teyvat"], "it": ["Teyvat"], "es": ["Teyvat"]},
}
CUES_EXTRA = {
    "pokemon": {"en": ["wild encounter in the tall grass, trainer battle", "Elite Four battle", "evolution stone", "shiny variant, gym badge"],
                "ja": ["ジムバッジ", "色違い"], "ko": ["체육관 배지"], "zh-Hans": ["道馆徽章"], "zh-Hant": ["道館徽章"]},
    "genshin": {"en": ["Anemo Archon statue", "Vision glowing, Elemental Burst", "gacha banner art", "Statue of the Seven"],
                "ja": ["神の目", "元素爆発"], "ko": ["신의 눈"], "zh-Hans": ["神之眼", "元素爆发"], "zh-Hant": ["神之眼", "元素爆發"]},
}
CONTEXT_T = {
    "en": ["{C} fan art: {X} curled up asleep on a mossy rock", "{X} from {C}, chibi style, pastel background",
           "screenshot-style image of {X} ({C})", "{C} — {X} in a snow globe"],
    "ja": ["{C}の{X}が雪の中で丸くなって眠る", "{X}（{C}）のちびキャライラスト", "{C}に出てくる{X}をスノードームの中に"],
    "zh-Hans": ["{C}里的{X}蜷缩在长满苔藓的石头上睡觉", "{C}的{X}，Q版画风", "{X}（{C}）在雪花水晶球里"],
    "zh-Hant": ["{C}裡的{X}蜷縮在長滿苔蘚的石頭上睡覺", "{C}的{X}，Q版畫風", "{X}（{C}）在雪花水晶球裡"],
    "ko": ["{C}의 {X}{이/가} 이끼 낀 바위 위에서 잠든다", "{C} 캐릭터 {X}, 치비 스타일", "스노우볼 속의 {X} ({C})"],
    "de": ["{C} Fanart: {X} schläft zusammengerollt auf einem Stein", "{X} aus {C} im Chibi-Stil"],
    "fr": ["fan art {C} : {X} endormi sur un rocher moussu", "{X} de {C}, style chibi"],
    "it": ["fan art di {C}: {X} addormentato su una roccia", "{X} di {C} in stile chibi"],
    "es": ["fan art de {C}: {X} dormido sobre una roca", "{X} de {C}, estilo chibi"],
}

# Negatives: the curated ambiguous words (and ordinary given names) in their ordinary meaning. Hand-written.
NEGATIVES: dict[str, list[str]] = {
    "en": [
        "ditto on the lighting for this scene, keep it moody",
        "a Persian cat lounging on a velvet sofa",
        "Persian miniature painting of a royal garden",
        "a clay golem guarding an ancient library, original design",
        "macro shot of a corroded battery electrode",
        "a cloud of gloom hanging over a rainy harbor town",
        "the kitten gave a tiny mew from the basket",
        "portrait of Kevin Durant dunking, sports photography",
        "Aron, my nephew, blowing out birthday candles",
        "an iron moth sculpture welded from scrap metal",
        "iron hands of a blacksmith shaping a horseshoe",
        "an elephant with one great tusk crossing the river",
        "a roaring moon festival with fireworks over the bay",
        "ducks paddling in the walking wake of a ferry",
        "a raging bolt of lightning splitting an old oak",
        "gaming setup with RGB keyboard and two monitors",
        "a lone wanderer on a windswept moor, Caspar David Friedrich style",
        "a straight razor and shaving brush on a marble counter",
        "amber light spilling across a wooden floor at dusk",
        "a mosquito trapped in amber, museum display",
        "diagram explaining albedo of snow versus ocean",
        "sucrose crystals under a polarizing microscope",
        "alchemist's engraving of the four elements and the aether",
        "Jean, a retired fisherman, mending nets on the dock",
        "a venti iced latte on a café table, morning light",
        "lucky cat statue waving in a shop window",
        "a bowling strike, pins flying, motion blur",
        "portrait of an unknown soldier, sepia photograph",
        "footprints in wet sand at low tide",
        "a friendly ghost in a haunted Victorian house, cartoon",
        "thunder rolling over wheat fields, dramatic sky",
        "April showers over a city park, umbrellas",
        "a hermit crab changing shells on the beach",
        "a coil of rope on the deck of a sailboat",
        "a bronze age spear displayed in a museum case",
        "an old chest freezer in a garage",
        "a pigeon pecking crumbs in a town square",
        "paper lantern festival on a river at night",
        "a rocket booster separating in the upper atmosphere",
        "a sleeper train crossing the mountains at night",
        "a silk cocoon hanging from a mulberry leaf",
        "horses at full gallop across a beach",
        "Casey at the bat, vintage baseball illustration",
        "a warm fire crackling in a stone fireplace",
        "Lisa, a barista, pouring latte art",
        "Mona Lisa parody with a cat face",
        "Barbara and her grandchildren picking apples",
        "Charlotte, North Carolina skyline at sunset",
        "a girl named Amber feeding ducks at the pond",
        "Layla reading a paperback on a night train",
        "Thomas the tank engine toy on a wooden track",
        "Noelle wrapping presents by the Christmas tree",
        "Sara and her dog hiking a mountain trail",
        "Klee's abstract watercolors in a Swiss museum",
        "a candle named Candace on an etsy listing, product photo",
        "a portrait of Clorinde, an elderly French baker",
        "Emilie, a florist, arranging tulips",
        "Navia ice cream truck on a summer street",
    ],
    "ja": [
        "今日はラッキーな一日、青空と虹",
        "野球のストライク判定の瞬間",
        "サンダーボルトのような稲妻が走る夜空",
        "ポリゴン数の少ないローポリの山",
        "電子工作のコイルとブレッドボード",
        "週末のクラブイベントのフライヤー",
        "ブルーの壁紙と観葉植物の部屋",
        "たまごサンドとコーヒーの朝食",
        "プリンアラモードを食べる子ども",
        "廃墟のゴーストタウン、夕暮れ",
        "ロケットのブースターが切り離される瞬間",
        "キャンプファイヤーを囲む学生たち",
        "古いフリーザーの中の氷",
        "スリープモードのノートパソコン",
        "寝台特急のスリーパーシート",
        "戦国武将のカブトを展示する博物館",
        "夏休みにカブトムシを捕まえる少年",
        "ガラガラの電車で眠る会社員",
        "カラカラに乾いた砂漠の大地",
        "水族館のジュゴンの写真",
        "絶滅したドードーの骨格標本",
        "岩の上で日光浴するリザードの写真",
        "公園のピジョンに餌をあげるおばあさん",
        "蚕のコクーンの顕微鏡写真",
        "森のピクシーを描いたおとぎ話の挿絵",
        "ラプラス変換の数式が書かれた黒板",
        "夕焼けの空を見上げる少女",
        "空っぽの教室に一つだけ残った椅子",
        "川辺を飛ぶ蛍の群れ、夏の夜",
        "北斗七星が輝く冬の夜空",
        "胡桃のパウンドケーキ",
        "バーカウンターに並ぶジンのボトル",
        "レザージャケットを着たバイク乗り",
        "ガイア理論についての図解",
        "ノエルの夜のクリスマスマーケット",
        "放浪者が荒野をひとりで歩く",
        "メロンパンとラッキーセブンのスロット",
    ],
    "ko": [
        "진 토닉 한 잔과 레몬 조각",
        "들판에서 풀을 뜯는 소와 송아지",
        "커피에 설탕을 두 스푼 넣는 손",
        "호두 파이를 굽는 할머니",
        "신학 대학교 도서관의 오래된 책",
        "깊은 사유에 잠긴 철학자의 초상",
        "범인의 자백을 녹음하는 형사",
        "가명으로 쓴 편지 봉투",
        "연비 좋은 소형차 광고 사진",
        "사람의 도리를 가르치는 서당 훈장",
        "레이저 포인터로 별을 가리키는 천문학자",
        "아이가 요요를 돌리며 노는 모습",
        "방랑자처럼 떠도는 배낭 여행객",
        "럭키 세븐이 뜬 슬롯머신",
        "블루 톤의 새벽 바다",
        "전기 코일이 달린 실험 장치",
        "썬더 볼트가 떨어지는 폭풍의 밤",
        "캠프 파이어 주위에 둘러앉은 친구들",
        "오페라의 팬텀 가면",
        "현관에 놓인 분홍 슬리퍼",
        "박물관에 전시된 장군의 투구",
        "크랩 요리가 가득한 해산물 식당",
        "캠핑장의 랜턴 불빛",
        "로켓 부스터 분리 장면",
        "책을 차곡차곡 쌓아 둔 서재",
        "90년대 삐삐 호출기 광고",
        "구구단을 외우는 초등학생",
    ],
    "zh-Hans": [
        "梦幻般的极光笼罩着雪山",
        "田野里钻出来的地鼠",
        "沙发上的猫毛球",
        "年轻人比腕力的酒馆",
        "大力士展示怪力举起石头",
        "他说话有点大舌头",
        "九尾狐传说的古画",
        "小朋友吃蛋蛋形状的饼干",
        "海边的波波冰淇淋摊",
        "嘟嘟作响的老式火车",
        "鸽子咕咕叫的清晨",
        "调皮的孩子真皮皮",
        "庙里供奉的雷公像",
        "炎帝神农氏尝百草的壁画",
        "轻飘飘的羽毛落在水面上",
        "雪地里奔跑的火狐狸",
        "警察发射瓦斯弹驱散人群",
        "公园里盛开的霸王花",
        "抱着熊宝宝玩偶的小女孩",
        "拉普拉斯方程的黑板推导",
        "孩子们在天空下奔跑",
        "空荡荡的地铁站，深夜",
        "她在弹琴，窗外下着雨",
        "北斗七星照亮了夜空",
        "核桃和胡桃木书桌",
        "奶茶里放了太多砂糖",
        "七七四十九天的修行",
        "街头流浪者和他的狗",
        "中药铺里的白术和当归",
        "久旱逢甘雨，农民在田里欢呼",
        "闲云野鹤般的隐居生活",
        "日本电影里叫五郎的大叔",
    ],
    "de": [
        "Leer und still liegt der Bahnhof in der Nacht",
        "ein Wanderer mit Rucksack auf einem Alpenpfad",
        "Ein Feld voller Klee im Frühling",
        "ein alter Griffel auf einer Schiefertafel",
        "ein glatter Kiesling am Flussufer",
        "Ditto für die nächste Einstellung",
    ],
    "fr": [
        "Thomas, un boulanger, sort le pain du four",
        "une tente de nomade dans le désert au crépuscule",
        "le clic d'un appareil photo argentique",
        "le tic-tac d'une vieille horloge",
        "un spectrum de couleurs à travers un prisme",
    ],
    "it": [
        "venti candeline sulla torta di compleanno",
        "un vagabondo che suona la fisarmonica sotto un ponte",
        "maschera di Arlecchino al carnevale di Venezia",
    ],
    "es": [
        "un trotamundos con su mochila en una estación de tren",
        "abra la ventana y deje entrar la luz de la mañana",
        "las paras del autobús están llenas de gente",
    ],
}
# Franchise named but no character; and one franchise's context with another franchise's ambiguous word.
NEGATIVE_CROSS = {
    "en": [
        "a Pokémon-themed café with warm amber light",
        "Genshin Impact concert poster, orchestra on stage",
        "Pokémon cards spread on a table, a venti latte beside them",
        "a Genshin Impact cosplayer eating a pudding cup on a lucky day",
        "Pokemon trainer cosplay at a convention, gaming booth in the background",
    ],
    "ja": [
        "ポケモンカードと胡桃のケーキが並ぶテーブル",
        "原神をプレイしながらプリンを食べる",
        "ポケモンセンターの前で空を見上げる",
        "原神のコンサートで配られたラッキーグッズ",
    ],
    "zh-Hans": ["宝可梦卡牌旁边放着一杯加了砂糖的咖啡", "玩原神的时候窗外下起了甘雨般的雨"],
    "ko": ["포켓몬 카드 옆에 놓인 호두과자", "원신 콘서트장 앞의 럭키 드로우 부스"],
}


# ----------------------------------------------------------------------------------------------------------
# The generator
# ----------------------------------------------------------------------------------------------------------
class Generator:
    def __init__(self, data: Data, seed: int, scale: float):
        self.d = data
        self.rng = random.Random(seed)
        self.scale = scale
        self.cases: list[dict] = []

    def n(self, base: int) -> int:
        return max(1, int(round(base * self.scale)))

    def add(self, category: str, lang: str, prompt: str, expected: list[str], kind: str, form: str = "", base: str = "") -> None:
        self.cases.append({
            "id": f"syn-{len(self.cases):05d}", "category": category, "lang": lang, "prompt": prompt,
            "expected": sorted(set(expected)), "kind": kind, "form": form, "base": base,
        })

    def pick_record(self, franchise: Optional[str] = None) -> dict:
        # Genshin has 115 characters and Pokémon 1,025: draw the franchise first so both are well represented.
        if franchise is None:
            franchise = "genshin" if self.rng.random() < 0.4 else "pokemon"
        pool = self.d.genshin if franchise == "genshin" else self.d.pokemon
        return self.rng.choice(pool)

    def template(self, lang: str, pool: dict = TEMPLATES) -> str:
        return self.rng.choice(pool.get(template_lang(lang)) or pool["en"])

    def canonical_name(self, rec: dict, lang: Optional[str] = None) -> Optional[tuple[str, str]]:
        langs = [lang] if lang else list(rec["names"])
        self.rng.shuffle(langs)
        for tag in langs:
            for name in rec["names"].get(tag, []):
                if name.casefold() not in self.d.ambiguous_strings:
                    return tag, name
        return None

    # -- categories ---------------------------------------------------------------------------------------
    def canonical(self, count: int) -> None:
        for _ in range(count):
            rec = self.pick_record()
            got = self.canonical_name(rec)
            if got is None:
                continue
            tag, name = got
            prompt = fill(self.template(tag), X=name)
            self.add("canonical", tag, prompt, [rec["id"]], "canonical/" + template_lang(tag), name, name)

    def mixed(self, count: int) -> None:
        for _ in range(count):
            tlang = self.rng.choice(list(MIX_TEMPLATES))
            has_z = any("{Z}" in t for t in MIX_TEMPLATES[tlang])
            k = 3 if has_z and self.rng.random() < 0.25 else 2
            recs, names, langs = [], [], []
            while len(recs) < k:
                rec = self.pick_record()
                if rec in recs:
                    continue
                # Mostly the template's language; sometimes another (code-mixing, as users do).
                lang = tlang if self.rng.random() < 0.6 and tlang in rec["names"] else None
                got = self.canonical_name(rec, lang) if lang else self.canonical_name(rec)
                if got is None:
                    continue
                recs.append(rec)
                langs.append(got[0])
                names.append(got[1])
            tpl = self.rng.choice([t for t in MIX_TEMPLATES[tlang] if ("{Z}" in t) == (k == 3)])
            slots = dict(zip("XYZ", names))
            prompt = fill(tpl, **slots)
            kind = "mixed/" + ("cross-franchise" if len({self.d.franchise_key(r["id"]) for r in recs}) > 1 else "same-franchise")
            kind += "/multilang" if len({template_lang(l) for l in langs}) > 1 else ""
            self.add("mixed", "mix", prompt, [r["id"] for r in recs], kind, " | ".join(names), " | ".join(names))
        # Nested names in one prompt: the longer and the shorter both expected.
        nested = [("pokemon/mewtwo", "Mewtwo", "pokemon/mew", "Mew"), ("pokemon/porygon-z", "Porygon-Z", "pokemon/porygon", "Porygon"),
                  ("pokemon/kabutops", "Kabutops", "pokemon/kabuto", "Kabuto"), ("pokemon/porygon2", "Porygon2", "pokemon/porygon", "Porygon"),
                  ("pokemon/mewtwo", "ミュウツー", "pokemon/mew", "ミュウ"), ("pokemon/raichu", "雷丘", "pokemon/pikachu", "皮卡丘"),
                  ("pokemon/kabutops", "カブトプス", "pokemon/omastar", "オムスター")]
        for _ in range(self.n(12)):
            a_id, a, b_id, b = self.rng.choice(nested)
            lang = "en" if a.isascii() else ("ja" if any("\u30a0" <= c <= "\u30ff" for c in a) else "zh-Hans")
            tpl = self.rng.choice([t for t in MIX_TEMPLATES[lang] if "{Z}" not in t])
            prompt = fill(tpl, X=a, Y=b) if self.rng.random() < 0.5 else fill(tpl, X=b, Y=a)
            self.add("mixed", "mix", prompt, [a_id, b_id], "mixed/nested", f"{a} | {b}", f"{a} | {b}")

    def variant(self, count: int) -> None:
        kinds = ["hiragana", "halfwidth", "long-vowel", "romaji", "trad-simp", "diacritics", "spacing", "pinyin-split", "plural", "possessive"]
        per = max(1, count // len(kinds))
        for kind in kinds:
            made = 0
            tries = 0
            while made < per and tries < per * 50:
                tries += 1
                if self._variant_one(kind):
                    made += 1

    def _variant_one(self, kind: str) -> bool:
        rng = self.rng
        if kind in ("hiragana", "halfwidth", "long-vowel", "romaji"):
            rec = self.pick_record()
            name = (rec["names"].get("ja") or [""])[0]
            if not is_katakana_name(name) or ("ja", name) in self.d.ambiguous_pairs:
                return False
            import jaconv

            if kind == "hiragana":
                form = jaconv.kata2hira(name)
            elif kind == "halfwidth":
                form = jaconv.z2h(name, kana=True, ascii=False, digit=False)
            elif kind == "long-vowel":
                swaps = long_vowel_swaps(name)
                if not swaps:
                    return False
                form = rng.choice(swaps)
            else:
                style = rng.choice(["double", "macron", "short", "circumflex", "kunrei"])
                form = romanize(name, style, rng)
                if not form or len(form.replace(" ", "")) < 4 or form.casefold() in self.d.all_names - {n.casefold() for vs in rec["names"].values() for n in vs}:
                    return False
                kind = f"romaji-{style}"
            if form == name:
                return False
            tlang = "en" if kind.startswith("romaji") else "ja"
            prompt = fill(self.template(tlang), X=form)
            self.add("variant", "ja-Latn" if tlang == "en" else "ja", prompt, [rec["id"]], "variant/" + kind, form, name)
            return True
        if kind == "trad-simp":
            rec = self.pick_record()
            direction = rng.choice(["s2t", "t2s", "hant-in-hans", "hans-in-hant", "mixed"])
            hans = (rec["names"].get("zh-Hans") or [""])[0]
            hant = (rec["names"].get("zh-Hant") or [""])[0]
            if not hans or ("zh-Hans", hans) in self.d.ambiguous_pairs or ("zh-Hant", hant) in self.d.ambiguous_pairs:
                return False
            if direction == "s2t":
                form, tlang = s2t(hans), "zh-Hant"
            elif direction == "t2s":
                form, tlang = t2s(hant), "zh-Hans"
            elif direction == "hant-in-hans":
                form, tlang = hant, "zh-Hans"
            elif direction == "hans-in-hant":
                form, tlang = hans, "zh-Hant"
            else:
                form = "".join(s2t(c) if rng.random() < 0.5 else c for c in hans)
                tlang = rng.choice(["zh-Hans", "zh-Hant"])
            if form in (hans, hant) and direction in ("s2t", "t2s", "mixed"):
                return False
            prompt = fill(self.template(tlang), X=form)
            self.add("variant", tlang, prompt, [rec["id"]], "variant/trad-simp-" + direction, form, hans)
            return True
        if kind == "diacritics":
            rec = self.pick_record()
            cands = [(t, n) for t, vs in rec["names"].items() for n in vs if any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", n)) and n.isascii() is False and all(ord(c) < 0x250 or not c.isalpha() for c in n)]
            if not cands:
                return False
            tag, name = rng.choice(cands)
            if (tag, name) in self.d.ambiguous_pairs:
                return False
            form = "".join(c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c))
            form = unicodedata.normalize("NFC", form)
            prompt = fill(self.template(tag), X=form)
            self.add("variant", tag, prompt, [rec["id"]], "variant/diacritics-stripped", form, name)
            return True
        if kind == "spacing":
            rec = self.pick_record()
            cands = [(t, n) for t, vs in rec["names"].items() for n in vs if re.search(r"[ \-.:]", n) and (t, n) not in self.d.ambiguous_pairs]
            if not cands:
                return False
            tag, name = rng.choice(cands)
            words = [w for w in re.split(r"[ \-.:]+", name) if w]
            if len(words) < 2:
                return False
            how = rng.choice(["joined", "hyphen", "space", "underscore"])
            sep = {"joined": "", "hyphen": "-", "space": " ", "underscore": "_"}[how]
            form = sep.join(words)
            if form == name:
                return False
            prompt = fill(self.template(tag), X=form)
            self.add("variant", tag, prompt, [rec["id"]], "variant/spacing-" + how, form, name)
            return True
        if kind == "pinyin-split":
            rec = self.pick_record("genshin")
            name = rec["names"]["en"][0]
            parts = pinyin_split(name)
            ja, zh = rec["names"]["ja"][0], rec["names"]["zh-Hans"][0]
            # Chinese names only: kanji in Japanese too, one syllable per hanzi. Sayu (早柚) is Japanese,
            # Gaming's pinyin is Jiaming and Wanderer is English, though their spellings parse.
            if not parts or len(parts) != len(zh) or not all("\u4e00" <= c <= "\u9fff" for c in ja) or name in ("Sayu", "Gaming", "Wanderer"):
                return False
            how = rng.choice(["space", "hyphen", "camel"])
            form = {"space": " ".join(p.capitalize() for p in parts), "hyphen": "-".join(p.capitalize() for p in parts),
                    "camel": "".join(p.capitalize() for p in parts)}[how]
            if form == name:
                return False
            prompt = fill(self.template("en"), X=form)
            self.add("variant", "en", prompt, [rec["id"]], "variant/pinyin-split-" + how, form, name)
            return True
        if kind == "plural":
            rec = self.pick_record()
            name = rec["names"]["en"][0]
            if ("en", name) in self.d.ambiguous_pairs or not name[-1].isalpha():
                return False
            form = name + ("es" if re.search(r"(s|x|z|ch|sh)$", name) else "s")
            prompt = fill(rng.choice(PLURAL_EN), P=form)
            self.add("variant", "en", prompt, [rec["id"]], "variant/plural", form, name)
            return True
        if kind == "possessive":
            rec = self.pick_record()
            name = rec["names"]["en"][0]
            if ("en", name) in self.d.ambiguous_pairs:
                return False
            apo = rng.choice(["'", "’"])
            form = name + apo + ("" if name.endswith("s") else "s")
            prompt = fill(rng.choice(POSSESSIVE_EN), S=form)
            self.add("variant", "en", prompt, [rec["id"]], "variant/possessive", form, name)
            return True
        raise ValueError(kind)

    def obfuscated(self, count: int) -> None:
        kinds = ["leet", "leet-extra", "spacing", "zero-width", "homoglyph", "fullwidth", "spacing-cjk", "zero-width-cjk", "combo", "homoglyph-cyrillic-pe"]
        per = max(1, count // (len(kinds) - 1))
        rng = self.rng
        for kind in kinds:
            made = tries = 0
            quota = per // 3 if kind == "homoglyph-cyrillic-pe" else per
            while made < quota and tries < per * 50:
                tries += 1
                rec = self.pick_record()
                if kind.endswith("-cjk"):
                    tag = rng.choice([t for t in ("ja", "zh-Hans", "zh-Hant", "ko") if t in rec["names"]])
                else:
                    tag = "en" if rng.random() < 0.75 else rng.choice([t for t in rec["names"] if t in ("fr", "de", "es", "it", "ja-Latn", "pt", "id", "vi", "tr")] or ["en"])
                got = self.canonical_name(rec, tag)
                if got is None:
                    continue
                name = got[1]
                if kind == "leet":
                    form = leet(name, rng, extra=False)
                elif kind == "leet-extra":
                    form = leet(name, rng, extra=True)
                    if form is not None and not any(c in "@$!98" or (c == "1" and name[i].lower() == "l") for i, c in enumerate(form)):
                        form = None  # keep this kind to the extra substitutions
                elif kind in ("spacing", "spacing-cjk"):
                    form = space_out(name, rng, cjk=kind.endswith("cjk"))
                elif kind in ("zero-width", "zero-width-cjk"):
                    form = insert_zero_width(name, rng)
                elif kind == "homoglyph":
                    form = homoglyph(name, rng)
                elif kind == "homoglyph-cyrillic-pe":
                    form = homoglyph(name, rng, {"n": ["п"]})
                elif kind == "fullwidth":
                    form = partial_fullwidth(name, rng)
                else:  # combo: two of leet / zero-width / homoglyph / case games
                    ops = rng.sample(["leet", "zw", "homoglyph", "case"], 2)
                    form = name
                    for op in ops:
                        if form is None:
                            break
                        if op == "leet":
                            form = leet(form, rng, extra=False)
                        elif op == "zw":
                            form = insert_zero_width(form, rng)
                        elif op == "homoglyph":
                            form = homoglyph(form, rng)
                        else:
                            form = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in form)
                    kind_label = "combo-" + "+".join(ops)
                if form is None or form == name:
                    continue
                prompt = fill(self.template(tag), X=form)
                label = kind_label if kind == "combo" else kind
                self.add("obfuscated", tag, prompt, [rec["id"]], "obfuscated/" + label, form, name)
                made += 1

    def typos(self, count: int) -> None:
        ops = ["insert", "delete", "substitute", "transpose"]
        per = max(1, count // len(ops))
        rng = self.rng
        for op in ops:
            made = tries = 0
            while made < per and tries < per * 50:
                tries += 1
                rec = self.pick_record()
                tag = "en" if rng.random() < 0.7 else rng.choice([t for t in rec["names"] if t in ("fr", "de", "es", "it", "ja-Latn", "pt")] or ["en"])
                got = self.canonical_name(rec, tag)
                if got is None:
                    continue
                name = got[1]
                if sum(c.isalpha() for c in name) < 6:
                    continue
                res = typo(name, op, rng)
                if res is None:
                    continue
                form, where = res
                if form == name or form.casefold() in self.d.all_names or _is_word(form):
                    continue
                prompt = fill(self.template(tag), X=form)
                self.add("typo", tag, prompt, [rec["id"]], f"typo/{op}-{where}", form, name)
                made += 1

    def partial(self, count: int) -> None:
        people = japanese_style_names(self.d)
        rng = self.rng
        for _ in range(count):
            rec, family, given, kfam, kgiv = rng.choice(people)
            tag = rng.choice(["en", "en", "ja", "zh-Hans", "zh-Hant", "ko"])
            if tag == "en":
                form = given
            elif tag == "ja":
                form = kgiv
            elif tag in ("zh-Hans", "zh-Hant"):
                full = rec["names"][tag][0]
                form = full[len(kfam):] if len(full) == len(kfam) + len(kgiv) else None
            else:
                ko = rec["names"].get("ko", [""])[0].split()
                form = ko[-1] if len(ko) == 2 else None
            if not form:
                continue
            prompt = fill(self.template(tag), X=form)
            self.add("partial", tag, prompt, [rec["id"]], "partial/" + tag, form, rec["names"]["en"][0])

    def context(self, count: int) -> None:
        rng = self.rng
        entries = [a for a in self.d.ambiguous if template_lang(a["lang"]) in CONTEXT_T]
        for _ in range(count):
            a = rng.choice(entries)
            fr = self.d.franchise_key(a["id"])
            tlang = template_lang(a["lang"])
            how = rng.choice(["franchise", "franchise-other-lang", "character", "cue-listed", "cue-extra"])
            expected = [a["id"]]
            if how == "franchise":
                ctx = rng.choice(FRANCHISE_NAMES[fr].get(tlang) or FRANCHISE_NAMES[fr]["en"])
            elif how == "franchise-other-lang":
                other = rng.choice([l for l in FRANCHISE_NAMES[fr] if l != tlang])
                ctx = rng.choice(FRANCHISE_NAMES[fr][other])
            elif how == "character":
                while True:
                    rec = self.pick_record(fr)
                    if rec["id"] in self.d.ambiguous_ids or rec["id"] == a["id"]:
                        continue
                    lang = "en" if a["lang"] == "ja-Latn" else a["lang"]
                    got = self.canonical_name(rec, lang if lang in rec["names"] else "en")
                    if got:
                        ctx = got[1]
                        expected.append(rec["id"])
                        break
            else:
                table = CUES_LISTED if how == "cue-listed" else CUES_EXTRA
                pool = table[fr].get(tlang) or table[fr]["en"]
                ctx = rng.choice(pool)
            tpl = rng.choice(CONTEXT_T[tlang])
            if how == "character":
                # A character as context reads better joined to the name than in the franchise slot.
                joiner = {"en": " and ", "ja": "と", "zh-Hans": "和", "zh-Hant": "和", "ko": "{과/와} ", "de": " und ", "fr": " et ", "it": " e ", "es": " y "}[tlang]
                prompt = fill(self.template(tlang).replace("{X}", "{X}" + joiner + "{Y}"), X=a["name"], Y=ctx)
            else:
                prompt = fill(tpl, X=a["name"], C=ctx)
            self.add("context", a["lang"], prompt, expected, "context/" + how, a["name"], a["name"])

    def negatives(self) -> None:
        for lang, sentences in NEGATIVES.items():
            for s in sentences:
                self.add("negative", lang, s, [], "negative/ordinary-word", "", "")
        for s in NEGATIVES["zh-Hans"]:
            t = s2t(s)
            if t != s:
                self.add("negative", "zh-Hant", t, [], "negative/ordinary-word", "", "")
        for lang, sentences in NEGATIVE_CROSS.items():
            for s in sentences:
                self.add("negative", lang, s, [], "negative/cross-franchise", "", "")

    def build(self) -> list[dict]:
        self.canonical(self.n(700))
        self.mixed(self.n(150))
        self.variant(self.n(600))
        self.obfuscated(self.n(540))
        self.typos(self.n(480))
        self.partial(self.n(150))
        self.context(self.n(300))
        self.negatives()
        return self.cases


_PINYIN = re.compile(
    r"(zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|ai|ao|an|ei|en|er|ia|ie|in|iu|ou|ua|uo|ui|un|ve|a|e|i|o|u|v)(?![aeiouv])",
)


def pinyin_split(name: str) -> Optional[list[str]]:
    """Xingqiu -> [xing, qiu]; None unless the whole name parses as 2-3 pinyin syllables."""
    if " " in name or not name.isalpha():
        return None
    s = name.lower()
    parts, i = [], 0
    while i < len(s):
        best = None
        for m in _PINYIN.finditer(s, i):
            if m.start() != i:
                break
            best = m
            break
        if best is None:
            return None
        # Prefer an ending that leaves a valid start for the rest ("n"/"ng" ambiguity): try shorter ends.
        parts.append(best.group(0))
        i = best.end()
    return parts if 2 <= len(parts) <= 3 else None


_WORDS: Optional[set] = None


def _is_word(form: str) -> bool:
    """Whether a typo produced an everyday word (then it is not a fair typo case)."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # pragma: no cover
        return False
    w = form.lower()
    return any(zipf_frequency(w, lang) >= 3.0 for lang in ("en", "fr", "de", "es", "it"))


def japanese_style_names(data: Data) -> list[tuple]:
    """Genshin characters with a Japanese-style kanji name 'Family Given' (Kamisato Ayaka / 神里綾華)."""
    out = []
    for rec in data.genshin:
        en = rec["names"]["en"][0].split()
        ja = rec["names"].get("ja", [""])[0]
        if len(en) != 2 or len(ja) < 3 or not all("\u4e00" <= c <= "\u9fff" for c in ja):
            continue
        if rec["id"] == "genshin_impact/raidenshogun":
            continue  # "Shogun" / 将軍 is a title, not a given name
        # The given name is the last two kanji (神里|綾華, 珊瑚宮|心海), the last one in a three-kanji name (久岐|忍).
        k = len(ja) - 1 if len(ja) == 3 else len(ja) - 2
        out.append((rec, en[0], en[1], ja[:k], ja[k:]))
    return out


# ----------------------------------------------------------------------------------------------------------
# Scoring and diagnosis
# ----------------------------------------------------------------------------------------------------------
_REASON = re.compile(r"ambiguous \((marked ambiguous in the lexicon|common word|same word as|joined from ordinary words|single character|two letters or fewer|English word)")


def diagnose(guard, case: dict) -> dict:
    """Why a case is wrong: per missing id, 'unconfirmed: <ambiguity rule>' or 'not found'; per extra id, how."""
    matches = guard.scan(case["prompt"], include_candidates=True)
    confirmed = {m.character_id for m in matches if m.confirmed}
    unconfirmed = {m.character_id for m in matches if not m.confirmed} - confirmed
    exp = set(case["expected"])
    missing = sorted(exp - confirmed)
    extra = sorted(confirmed - exp)
    notes, causes = [], []
    common = getattr(getattr(guard, "compiled", None), "common", {}) or {}
    for cid in missing:
        if cid in unconfirmed:
            ev = [e for m in matches if m.character_id == cid for e in m.evidence]
            rule = next((r.group(1) for e in ev for r in [_REASON.search(e)] if r), "other")
            notes.append(f"{cid}: found but unconfirmed ({'; '.join(ev)})")
            causes.append(f"unconfirmed: {rule}")
        else:
            words = [w for w in re.findall(r"[^\W\d_]+", case.get("form", "").lower()) if len(w) >= 5]
            hits = [f"{w} (zipf {common[w] / 10})" for w in words if w in common]
            if hits and case["kind"].startswith("typo"):
                notes.append(f"{cid}: not found; the typo is an everyday word to the guard: {', '.join(hits)}")
                causes.append("not found: typo is a common word")
            else:
                notes.append(f"{cid}: not found")
                causes.append("not found")
    for m in matches:
        if m.character_id in extra and m.confirmed:
            notes.append(f"extra {m.character_id} from {m.surface!r} via {m.method} ({'; '.join(m.evidence) or 'no evidence'})")
            causes.append(f"extra via {m.method}")
    return {"missing": missing, "extra": extra, "notes": notes, "causes": causes, "confirmed": sorted(confirmed)}


def run(args) -> int:
    from eval_dev import evaluate

    from guard import Guard

    data = Data(Path(args.data))
    cases = Generator(data, args.seed, args.scale).build()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        for c in cases:
            fh.write(json.dumps(c, ensure_ascii=False) + "\n")

    guard = Guard.from_paths(args.lexicon)
    summary, _misses = evaluate(guard, cases)
    print(f"synthetic eval: {len(cases)} cases (seed {args.seed}) -> {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    for name, k in summary["categories"].items():
        print(f"{name:12s} n={k['n']:4d} recall={k['recall']} exact={k['exact']} fp_case_rate={k['fp_case_rate']}")
    print(
        f"overall precision={summary['precision']} recall={summary['recall']} "
        f"negative_fp_rate={summary['negative_fp_rate']} bad_offsets={summary['bad_offsets']}"
    )

    by_kind: dict[str, list] = defaultdict(list)
    per_kind = defaultdict(Counter)
    causes = defaultdict(Counter)
    for c in cases:
        d = diagnose(guard, c)
        k = per_kind[c["kind"]]
        k["n"] += 1
        k["exp"] += len(c["expected"])
        k["tp"] += len(set(c["expected"]) - set(d["missing"]))
        k["fp_cases"] += bool(d["extra"])
        if d["missing"] or d["extra"]:
            by_kind[c["kind"]].append((c, d))
            for cause in d["causes"]:
                causes[c["category"]][cause] += 1
    print("\nper kind (recall | cases with a false positive):")
    for kind in sorted(per_kind):
        k = per_kind[kind]
        rec = f"{k['tp'] / k['exp']:.3f}" if k["exp"] else "  -  "
        print(f"  {kind:42s} n={k['n']:4d} recall={rec} fp_cases={k['fp_cases']}")
    print("\nmiss causes per category (per missing or extra id):")
    for cat in sorted(causes):
        print(f"  {cat}: " + ", ".join(f"{k} {v}" for k, v in causes[cat].most_common()))
    if args.no_misses:
        return 0
    print("\nmisses by kind:")
    for kind in sorted(by_kind):
        items = by_kind[kind]
        print(f"\n== {kind}: {len(items)}")
        for c, d in items[: args.examples]:
            print(f"  [{c['lang']}] {c['prompt']!r}  form={c['form']!r} base={c['base']!r}")
            for note in d["notes"]:
                print(f"      {note}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the number of generated cases per category")
    ap.add_argument("--data", default=str(DATA), help="shared/data/characters directory")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--lexicon", action="append", default=None)
    ap.add_argument("--examples", type=int, default=1000, help="misses to print per kind")
    ap.add_argument("--no-misses", action="store_true")
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
