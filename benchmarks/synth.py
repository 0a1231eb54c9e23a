"""Synthetic lexicon files in the schema of lexicons/*.yaml, scaled to a target number of aliases.

Each synthetic character gets eight names, like a real entry: an English-style Latin name, a katakana name
with its romaji, a hangul name, a simplified and a traditional hanzi name, and French and German Latin
spellings. Names are pseudo-words built from syllables, so they look like names and are not everyday words.
Characters are grouped in franchises of `per_file` characters, one YAML file each, with franchise names and
cues in several scripts. Output is deterministic for a given seed.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

NAMES_PER_CHARACTER = 8

# Latin: onsets, vowels and codas for English-like fantasy names.
_ONSETS = "b br c ch cr d dr f fl g gr h j k kr l m n p pr qu r s sh st t th tr v vr w z zh".split()
_VOWELS = "a e i o u ae ai ei ia io ou y".split()
_CODAS = [""] * 6 + "n r l s th x m nd rk ss".split()
_ENDINGS = "ion ar eth is os or ix us yn ara ina elle".split()

# Katakana syllables with their Hepburn romaji.
_KANA = [
    ("ka", "カ"), ("ki", "キ"), ("ku", "ク"), ("ke", "ケ"), ("ko", "コ"), ("sa", "サ"), ("shi", "シ"), ("su", "ス"),
    ("se", "セ"), ("so", "ソ"), ("ta", "タ"), ("chi", "チ"), ("tsu", "ツ"), ("te", "テ"), ("to", "ト"), ("na", "ナ"),
    ("ni", "ニ"), ("nu", "ヌ"), ("ne", "ネ"), ("no", "ノ"), ("ha", "ハ"), ("hi", "ヒ"), ("fu", "フ"), ("he", "ヘ"),
    ("ho", "ホ"), ("ma", "マ"), ("mi", "ミ"), ("mu", "ム"), ("me", "メ"), ("mo", "モ"), ("ya", "ヤ"), ("yu", "ユ"),
    ("yo", "ヨ"), ("ra", "ラ"), ("ri", "リ"), ("ru", "ル"), ("re", "レ"), ("ro", "ロ"), ("ga", "ガ"), ("gi", "ギ"),
    ("gu", "グ"), ("ge", "ゲ"), ("go", "ゴ"), ("za", "ザ"), ("ji", "ジ"), ("zu", "ズ"), ("do", "ド"), ("ba", "バ"),
    ("bi", "ビ"), ("bu", "ブ"), ("be", "ベ"), ("bo", "ボ"), ("pa", "パ"), ("pi", "ピ"), ("po", "ポ"), ("da", "ダ"),
    ("de", "デ"), ("kya", "キャ"), ("sho", "ショ"), ("ryu", "リュ"), ("n", "ン"), ("a", "ア"), ("i", "イ"),
    ("o", "オ"), ("e", "エ"), ("va", "ヴァ"), ("fi", "フィ"),
]
_KANA_LONG = ("ー", "")  # romaji drops the long mark

# Hangul syllables used in transliterated names.
_HANGUL = list(
    "가나다라마바사아자차카타파하거너더러머버서어저커터퍼허고노도로모보소오조코토포호구누두루무부수우주쿠투푸후"
    "기니디리미비시이지키티피히개내대래매배새애재캐태패해게네데레메베세에제케테페헤린란론룬민만몬문신산손순진잔존준"
    "킨칸콘쿤틴탄톤툰핀판폰푼힌한혼훈릭락록룩밀말몰물실살솔술일알올울짐잠좀줌"
)
# Hanzi used in transliterated and descriptive Chinese character names (simplified, traditional where it differs).
_HANZI = (
    "卡拉斯特克尔里亚多诺娜莉莎琳妮丝菲薇雅奥伊乌艾欧比布达德迪杜法弗格古哈赫基吉杰卢鲁罗洛马玛梅米莫穆纳尼"
    "帕佩皮普萨赛塞希西索苏塔泰汀托瓦维沃温希辛修雷蕾洛芙蒂缇凯恺坎肯昆兰朗伦隆龙炎焰冰雪霜风雷电光影星月辰"
    "晶灵羽翼鳞牙爪角刃剑弓盾魂梦幻夜晨曦岚澜渊岩砂沙岛森林花叶藤根芽果蝶萤鸦鹰狼狐豹熊鲸蛟鹤凤麟獭貂鸮"
)
_T = {"龙": "龍", "丝": "絲", "亚": "亞", "诺": "諾", "娜": "娜", "维": "維", "鲁": "魯", "罗": "羅", "马": "馬",
      "玛": "瑪", "梅": "梅", "穆": "穆", "纳": "納", "尼": "尼", "帕": "帕", "萨": "薩", "赛": "賽", "苏": "蘇",
      "泰": "泰", "兰": "蘭", "伦": "倫", "电": "電", "剑": "劍", "魂": "魂", "梦": "夢", "鳞": "鱗", "岚": "嵐",
      "澜": "瀾", "渊": "淵", "岛": "島", "叶": "葉", "萤": "螢", "鸦": "鴉", "鹰": "鷹", "鲸": "鯨", "鹤": "鶴",
      "凤": "鳳", "麟": "麟", "獭": "獺", "鸮": "鴞", "凯": "凱", "恺": "愷", "艾": "艾", "欧": "歐", "卢": "盧",
      "弗": "弗", "杰": "傑", "沃": "沃", "温": "溫", "辛": "辛", "修": "修", "蕾": "蕾", "缇": "緹", "坎": "坎",
      "肯": "肯", "昆": "崑", "朗": "朗", "隆": "隆", "炎": "炎", "焰": "焰", "冰": "冰", "雪": "雪", "霜": "霜"}


class _Names:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.used: set[str] = set()

    def _unique(self, make) -> str:
        for _ in range(50):
            v = make()
            if v not in self.used:
                self.used.add(v)
                return v
        v = make() + str(len(self.used))
        self.used.add(v)
        return v

    def latin(self) -> str:
        r = self.r

        def make() -> str:
            n = r.choice((2, 2, 3, 3, 3, 4))
            s = "".join(r.choice(_ONSETS) + r.choice(_VOWELS) + r.choice(_CODAS) for _ in range(n - 1))
            s += r.choice(_ONSETS) + r.choice(_ENDINGS)
            return s.capitalize()

        return self._unique(make)

    def kana(self) -> tuple[str, str]:
        r = self.r

        def make() -> str:
            n = r.choice((3, 3, 4, 4, 5))
            parts = []
            for i in range(n):
                parts.append(r.choice(_KANA))
                if i and r.random() < 0.15:
                    parts.append(("", "ー"))
            return "".join(k for _, k in parts) + "\t" + "".join(rm for rm, _ in parts)

        kana, romaji = self._unique(make).split("\t")
        return kana, romaji.capitalize()

    def hangul(self) -> str:
        r = self.r
        return self._unique(lambda: "".join(r.choice(_HANGUL) for _ in range(r.choice((2, 3, 3, 3, 4)))))

    def hanzi(self) -> tuple[str, str]:
        r = self.r
        s = self._unique(lambda: "".join(r.choice(_HANZI) for _ in range(r.choice((2, 3, 3, 3, 4)))))
        return s, "".join(_T.get(c, c) for c in s)


def _yaml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # JSON strings are valid YAML flow scalars


def _yaml_list(values: list[str]) -> str:
    return "[" + ", ".join(_yaml_str(v) for v in values) + "]"


def character_names(nm: _Names) -> dict[str, list[str]]:
    en = nm.latin()
    if nm.r.random() < 0.1:  # a two-part personal name
        en = en + " " + nm.latin()
    kana, romaji = nm.kana()
    hans, hant = nm.hanzi()
    fr = nm._unique(lambda: en[:-1] + nm.r.choice("ezxl") if len(en) > 4 else en + "e")
    de = nm._unique(lambda: en.replace("c", "k").replace("th", "t") + nm.r.choice(("", "o", "as", "ir")))
    return {"en": [en], "ja": [kana], "ja-Latn": [romaji], "ko": [nm.hangul()], "zh-Hans": [hans],
            "zh-Hant": [hant], "fr": [fr], "de": [de]}


def write_lexicons(out_dir: Path, aliases: int, *, per_file: int = 1000, seed: int = 7, prefix: str = "synth") -> dict:
    """Write about `aliases` names (8 per character) as YAML files into out_dir, franchise ids `prefix0000`,
    `prefix0001` ... Returns a summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    nm = _Names(seed)
    n_chars = max(1, aliases // NAMES_PER_CHARACTER)
    n_files = max(1, -(-n_chars // per_file))
    written = 0
    total_bytes = 0
    for f in range(n_files):
        fid = f"{prefix}{f:04d}"
        franchise = nm.latin()
        fkana, fromaji = nm.kana()
        fhans, fhant = nm.hanzi()
        lines = [
            "# Synthetic lexicon for benchmarks (benchmarks/synth.py); names are pseudo-words.",
            "version: 1",
            "franchise:",
            f"  id: {fid}",
            f"  name: {_yaml_str(franchise + ' Chronicles')}",
            f"  rightsholder: {_yaml_str(franchise + ' Studio ' + str(f))}",
            "  names:",
            f"    en: {_yaml_list([franchise + ' Chronicles'])}",
            f"    ja: {_yaml_list([fkana + 'クロニクル'])}",
            f"    ja-Latn: {_yaml_list([fromaji + ' Kuronikuru'])}",
            f"    ko: {_yaml_list([nm.hangul() + ' 연대기'])}",
            f"    zh-Hans: {_yaml_list([fhans + '编年史'])}",
            f"    zh-Hant: {_yaml_list([fhant + '編年史'])}",
            f"  cues: {_yaml_list([franchise + ' Kingdom', fkana + '王国', fhans + '王国'])}",
            "characters:",
        ]
        count = min(per_file, n_chars - f * per_file)
        for i in range(count):
            names = character_names(nm)
            lines.append(f"  - id: {fid}/c{i:05d}")
            lines.append("    names:")
            for lang, values in names.items():
                lines.append(f"      {lang}: {_yaml_list(values)}")
            written += sum(len(v) for v in names.values())
        text = "\n".join(lines) + "\n"
        (out_dir / f"{fid}.yaml").write_text(text, encoding="utf-8")
        total_bytes += len(text.encode("utf-8"))
    return {"aliases": written, "characters": n_chars, "files": n_files, "bytes": total_bytes, "seed": seed}


def count_lexicon_aliases(loaded) -> int:
    """Names and aliases written in the lexicon files (what 'aliases' means in the results)."""
    n = 0
    for _p, lex in loaded.files:
        for rec in lex.characters:
            n += sum(len(v) for v in rec.names.values()) + len(rec.aliases)
    return n
