"""A realistic prompt corpus: video-generation prompts of 50 to 500 characters in several languages.

Seeds are the prompts of the dev eval set (shared/eval/dev.jsonl) when it is there: where a seed names a
character by one of its lexicon names, that name becomes a slot, filled with names of other characters of the
bundled lexicons in the prompt's language. Seeds whose character is written in a form the lexicon does not list
(typos, obfuscations) are kept as they are. Prompts are lengthened to a target length drawn uniformly from
50 to 500 characters with scene, camera and style fragments in the same language. Prompts without characters
use the same templates with an ordinary subject. Deterministic for a given seed.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"

GROUPS = ("latin", "japanese", "chinese", "korean")
# (prompt language, group, lexicon name tags to draw names from, share of the corpus)
LANGS = [
    ("en", "latin", ("en",), 0.30),
    ("fr", "latin", ("fr",), 0.05),
    ("de", "latin", ("de",), 0.05),
    ("es", "latin", ("es", "es-419"), 0.05),
    ("it", "latin", ("it",), 0.05),
    ("ja", "japanese", ("ja", "ja-Hrkt"), 0.17),
    ("zh", "chinese", ("zh-Hans", "zh-Hant"), 0.17),
    ("ko", "korean", ("ko",), 0.16),
]

_SEP = {"latin": ", ", "japanese": "、", "chinese": "，", "korean": ", "}
_END = {"latin": "", "japanese": "。", "chinese": "。", "korean": "."}

TEMPLATES = {
    "en": [
        "{c} walking through a neon-lit street in the rain",
        "a cinematic trailer where {c} steps out of the fog",
        "{c} cooking ramen in a tiny apartment, cozy lo-fi mood",
        "aerial shot of {c} crossing a desert at noon",
        "{c} surfing a huge wave at sunset",
        "slow motion close-up of {c} laughing in a field of sunflowers",
        "{c} reading a book by the window of an old library",
        "stop-motion clay animation of {c} building a sandcastle",
    ],
    "fr": [
        "{c} sort du brouillard dans une bande-annonce",
        "{c} cuisine des ramen dans un petit appartement",
        "{c} marche sous la pluie dans une rue illuminée de néons",
        "plan aérien de {c} traversant un désert à midi",
    ],
    "de": [
        "{c} tritt aus dem Nebel, Kinotrailer",
        "{c} kocht Ramen in einer kleinen Wohnung",
        "{c} läuft bei Regen durch eine neonbeleuchtete Straße",
        "Luftaufnahme von {c}, der mittags eine Wüste durchquert",
    ],
    "es": [
        "{c} sale de la niebla en un tráiler de cine",
        "{c} cocina ramen en un apartamento pequeño",
        "{c} camina bajo la lluvia por una calle de neón",
        "toma aérea de {c} cruzando un desierto al mediodía",
    ],
    "it": [
        "{c} esce dalla nebbia in un trailer cinematografico",
        "{c} cucina ramen in un piccolo appartamento",
        "{c} cammina sotto la pioggia in una strada al neon",
        "ripresa aerea di {c} che attraversa un deserto a mezzogiorno",
    ],
    "ja": [
        "{c}が霧の中から現れる映画の予告編",
        "{c}が小さな部屋でラーメンを作るほのぼの映像",
        "{c}が雨のネオン街を歩く",
        "{c}が京都の街をスクーターで走る",
        "夕焼けの海で{c}がサーフィンをする",
    ],
    "zh": [
        "{c}从雾中走出来的电影预告片",
        "{c}在小公寓里煮拉面，温馨的氛围",
        "{c}在下雨的霓虹街道上行走",
        "航拍{c}在正午穿越沙漠",
        "{c}在城市裡奔跑",
    ],
    "ko": [
        "안개 속에서 걸어 나오는 {c} 영화 예고편",
        "작은 방에서 라면을 끓이는 {c}",
        "{c}가 비 오는 네온 거리를 걷는다",
        "정오에 사막을 가로지르는 {c}의 항공 촬영",
    ],
}

SUBJECTS = {
    "en": ["a red fox", "an old fisherman", "a young dancer", "a robot", "two children", "a golden retriever"],
    "fr": ["un renard roux", "un vieux pêcheur", "une jeune danseuse", "un robot"],
    "de": ["ein Rotfuchs", "ein alter Fischer", "eine junge Tänzerin", "ein Roboter"],
    "es": ["un zorro rojo", "un viejo pescador", "una joven bailarina", "un robot"],
    "it": ["una volpe rossa", "un vecchio pescatore", "una giovane ballerina", "un robot"],
    "ja": ["一匹の狐", "老いた漁師", "若いダンサー", "小さなロボット", "二人の子供"],
    "zh": ["一只红狐狸", "老渔夫", "年轻的舞者", "小机器人", "两个孩子"],
    "ko": ["붉은 여우", "늙은 어부", "젊은 무용수", "작은 로봇", "두 아이"],
}

WITH = {
    "en": "together with {c}", "fr": "avec {c}", "de": "zusammen mit {c}", "es": "junto a {c}",
    "it": "insieme a {c}", "ja": "{c}と一緒に", "zh": "和{c}一起", "ko": "{c}와 함께",
}

FRAGMENTS = {
    "en": [
        "golden hour lighting", "shallow depth of field", "35mm film grain", "handheld camera", "slow dolly zoom",
        "volumetric fog", "ultra detailed, 8k", "soft pastel color palette", "dramatic rim light",
        "wide establishing shot", "anamorphic lens flare", "the camera slowly orbits around the scene",
        "rain drops on the lens", "warm ambient sound of the city at night", "cinematic composition",
        "in the style of a 1990s music video", "photorealistic textures", "a gentle breeze moves the curtains",
        "crowds pass by in the background", "tracking shot at eye level", "high contrast black and white",
    ],
    "fr": [
        "lumière dorée du soir", "faible profondeur de champ", "grain de pellicule 35 mm", "caméra à l'épaule",
        "brouillard volumétrique", "palette de couleurs pastel", "plan large d'ensemble", "travelling lent",
        "ambiance chaleureuse", "reflets de néons sur le sol mouillé", "style clip vidéo des années 90",
    ],
    "de": [
        "goldenes Abendlicht", "geringe Schärfentiefe", "35-mm-Filmkorn", "Handkamera", "volumetrischer Nebel",
        "Pastellfarben", "weite Totale", "langsame Kamerafahrt", "warme Stimmung", "Neonreflexe auf nassem Asphalt",
        "im Stil eines Musikvideos der 90er",
    ],
    "es": [
        "luz dorada del atardecer", "poca profundidad de campo", "grano de película de 35 mm", "cámara en mano",
        "niebla volumétrica", "paleta de colores pastel", "plano general amplio", "travelling lento",
        "ambiente cálido", "reflejos de neón en el suelo mojado", "estilo de videoclip de los años 90",
    ],
    "it": [
        "luce dorata del tramonto", "profondità di campo ridotta", "grana della pellicola 35 mm", "camera a mano",
        "nebbia volumetrica", "colori pastello", "campo lungo", "carrellata lenta", "atmosfera calda",
        "riflessi al neon sull'asfalto bagnato", "stile videoclip anni 90",
    ],
    "ja": [
        "夕暮れの柔らかい光", "浅い被写界深度", "35ミリフィルムの粒子感", "手持ちカメラ", "ゆっくりとしたドリーズーム",
        "霧が立ち込める", "超高精細", "パステルカラー", "ドラマチックな逆光", "広角の引きの画", "アナモルフィックレンズフレア",
        "カメラがゆっくりと周囲を回る", "レンズに雨粒", "夜の街のざわめき", "映画的な構図", "90年代のミュージックビデオ風",
        "写実的な質感", "そよ風がカーテンを揺らす", "背景を人々が行き交う",
    ],
    "zh": [
        "黄昏的柔和光线", "浅景深", "35毫米胶片颗粒感", "手持摄影", "缓慢推拉变焦", "体积雾", "超高清细节",
        "柔和的粉彩色调", "戏剧性的轮廓光", "广角全景镜头", "变形镜头光晕", "镜头缓缓环绕场景", "镜头上的雨滴",
        "夜晚城市的环境声", "电影感构图", "九十年代音乐录影带风格", "写实质感", "微风吹动窗帘", "背景中人群走过",
    ],
    "ko": [
        "해질녘의 부드러운 빛", "얕은 피사계 심도", "35mm 필름 그레인", "핸드헬드 카메라", "느린 돌리 줌", "자욱한 안개",
        "초고화질", "파스텔 색감", "극적인 역광", "넓은 설정 숏", "아나모픽 렌즈 플레어", "카메라가 천천히 주위를 돈다",
        "렌즈에 맺힌 빗방울", "밤거리의 소음", "영화 같은 구도", "90년대 뮤직비디오 스타일", "사실적인 질감",
    ],
}


def _lang_key(dev_lang: str) -> Optional[str]:
    if dev_lang in ("en", "ja-Latn"):
        return "en"
    if dev_lang.startswith("es"):
        return "es"
    if dev_lang in ("fr", "de", "it"):
        return dev_lang
    if dev_lang.startswith("ja"):
        return "ja"
    if dev_lang.startswith("zh"):
        return "zh"
    if dev_lang == "ko":
        return "ko"
    return None


def character_lexicons(paths=None) -> list:
    """The character lexicon files (bundled by default); files of other kinds are skipped."""
    from guard.lexicon.loader import bundled_lexicon_dir, expand_paths, load_file

    out = []
    for f in expand_paths(paths or [bundled_lexicon_dir()]):
        if "\ncharacters:" not in f.read_text(encoding="utf-8", errors="replace"):
            continue  # not a character lexicon (a title list, say): skip parsing it
        try:
            lex = load_file(f)
        except Exception:  # noqa: BLE001 - a file of another kind or one being edited
            continue
        if getattr(lex, "characters", None):
            out.append(lex)
    return out


def _seed_templates(lexicons, dev_path: Path) -> tuple[dict, dict, dict]:
    """Templates ({c} slots), literal positive prompts and negative prompts per language key, from the dev set."""
    names_by_id: dict[str, list[str]] = {}
    for lex in lexicons:
        for rec in lex.characters:
            names_by_id[rec.id] = sorted({v for vs in rec.names.values() for v in vs} | {a if isinstance(a, str) else a.text for a in rec.aliases}, key=len, reverse=True)
    templates: dict[str, list[str]] = {k: list(v) for k, v in TEMPLATES.items()}
    literal: dict[str, list[str]] = {k: [] for k in TEMPLATES}
    negative: dict[str, list[str]] = {k: [] for k in TEMPLATES}
    if not dev_path.exists():
        return templates, literal, negative
    for line in dev_path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        key = _lang_key(case.get("lang", ""))
        if key is None:
            continue
        prompt, expected = case["prompt"], case.get("expected", [])
        if len(expected) != 1:
            if not expected:
                negative[key].append(prompt)
            continue
        for name in names_by_id.get(expected[0], []):
            m = re.search(re.escape(name), prompt, re.IGNORECASE)
            if m and "{" not in prompt:
                templates[key].append(prompt[: m.start()] + "{c}" + prompt[m.end() :])
                break
        else:
            if "{" not in prompt:
                literal[key].append(prompt)
    return templates, literal, negative


def build_corpus(n: int = 2000, seed: int = 11, *, min_len: int = 50, max_len: int = 500, positive_share: float = 0.6, lexicon_paths=None, dev_path: Path = DEV_SET) -> list[dict]:
    """`n` prompts: dicts with text, lang, group, positive (whether character names were put in)."""
    r = random.Random(seed)
    lexicons = character_lexicons(lexicon_paths)
    templates, literal, negative = _seed_templates(lexicons, dev_path)
    names: dict[str, list[str]] = {}
    for lang, _group, tags, _share in LANGS:
        pool = []
        for lex in lexicons:
            for rec in lex.characters:
                for tag in tags:
                    pool.extend(rec.names.get(tag, []))
        names[lang] = sorted(set(pool)) or ["Pikachu"]
    langs = [x[0] for x in LANGS]
    weights = [x[3] for x in LANGS]
    group_of = {x[0]: x[1] for x in LANGS}
    out = []
    for i in range(n):
        lang = r.choices(langs, weights)[0]
        group = group_of[lang]
        positive = r.random() < positive_share
        target = r.randint(min_len, max_len)
        if positive and literal[lang] and r.random() < 0.1:
            text = r.choice(literal[lang])  # a typo or obfuscation seed
        elif not positive and negative[lang] and r.random() < 0.1:
            text = r.choice(negative[lang])
        else:
            text = r.choice(templates[lang]).replace("{c}", r.choice(names[lang]) if positive else r.choice(SUBJECTS[lang]))
        extra = 0
        if positive:
            extra = r.choices((0, 1, 2), (0.7, 0.2, 0.1))[0]
        parts = [text]
        for _ in range(extra):
            parts.append(WITH[lang].replace("{c}", r.choice(names[lang])))
        frags: list[str] = []
        sep = _SEP[group]
        text = sep.join(parts)
        while len(text) < target:
            if not frags:
                frags = r.sample(FRAGMENTS[lang], len(FRAGMENTS[lang]))
            nxt = text + sep + frags.pop()
            if len(nxt) > max_len:
                break
            text = nxt
        text += _END[group]
        if len(text) < min_len:  # only when one more fragment would pass max_len: pad with a short one
            text = (text + sep + "4k").strip()[:max_len]
        text = text[:max_len]
        out.append({"id": i, "text": text, "lang": lang, "group": group, "positive": positive})
    return out


def corpus_stats(corpus: list[dict]) -> dict:
    lens = [len(p["text"]) for p in corpus]
    by_group = {g: sum(1 for p in corpus if p["group"] == g) for g in GROUPS}
    return {
        "prompts": len(corpus),
        "min_chars": min(lens),
        "max_chars": max(lens),
        "mean_chars": round(sum(lens) / len(lens), 1),
        "with_characters": sum(1 for p in corpus if p["positive"]),
        "by_group": by_group,
    }
