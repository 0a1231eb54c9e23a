"""Theme detection: multilingual, same normalization as names, word boundaries for Latin and Korean terms."""
from __future__ import annotations

import pytest

from guard.policy import PolicyEngine
from guard.policy.themes import ThemeLexicon

from .helpers import write


@pytest.fixture(scope="module")
def eng() -> PolicyEngine:
    return PolicyEngine.default()


POSITIVE = [
    # violence
    ("en", "a bloody battlefield at dusk", "violence"),
    ("ja", "血まみれの剣士が立っている", "violence"),
    ("zh-Hans", "血腥的战场", "violence"),
    ("zh-Hant", "一具屍體躺在路上", "violence"),
    ("ko", "피투성이가 된 전사", "violence"),
    ("fr", "une scène sanglante dans la rue", "violence"),
    ("de", "ein blutiger Kampf im Regen", "violence"),
    ("es", "un asesinato en la ciudad", "violence"),
    ("it", "un omicidio sotto la pioggia", "violence"),
    # sexual
    ("en", "a nude portrait", "sexual"),
    ("en", "a nude portrait in nude tones", "sexual"),             # an exception elsewhere hides nothing here
    ("ja", "全裸でポーズをとる", "sexual"),
    ("ja", "エロい写真", "sexual"),
    ("zh-Hans", "色情海报", "sexual"),
    ("zh-Hant", "裸體的雕像", "sexual"),
    ("ko", "누드 사진", "sexual"),
    ("fr", "une photo érotique", "sexual"),
    ("de", "nackt am Strand", "sexual"),
    ("es", "una mujer desnuda", "sexual"),
    ("it", "una modella nuda", "sexual"),
    # politics
    ("en", "an election poster", "politics"),
    ("ja", "選挙ポスター", "politics"),
    ("zh-Hans", "总统在演讲", "politics"),
    ("zh-Hant", "總統在演講", "politics"),
    ("ko", "대통령 선거 포스터", "politics"),
    ("fr", "une affiche de propagande", "politics"),
    ("de", "ein Wahlkampf Plakat", "politics"),
    ("es", "las elecciones presidenciales", "politics"),
    ("it", "un comizio per le elezioni", "politics"),
    # drugs and alcohol
    ("en", "drinking beer in a bar", "drugs"),
    ("en", "a Bloody Mary on the bar", "drugs"),                    # a cocktail, not violence (-bloody mary)
    ("ja", "ビールを飲む", "drugs"),
    ("zh-Hans", "在酒吧喝酒", "drugs"),
    ("zh-Hant", "抽菸的男人", "drugs"),
    ("ko", "술을 마시는 남자", "drugs"),
    ("fr", "un verre de vin rouge", "drugs"),
    ("de", "ein Glas Bier", "drugs"),
    ("es", "una copa de vino", "drugs"),
    ("it", "una birra fresca", "drugs"),
    # horror
    ("en", "a zombie apocalypse", "horror"),
    ("ja", "ゾンビの群れ", "horror"),
    ("zh-Hans", "丧尸围城", "horror"),
    ("zh-Hant", "殭屍電影", "horror"),
    ("ko", "좀비 영화", "horror"),
    ("fr", "un film d'horreur", "horror"),
    ("de", "ein gruseliges Spukhaus", "horror"),
    ("es", "una pesadilla oscura", "horror"),
    ("it", "un film dell'orrore", "horror"),
    # hate
    ("en", "a racist caricature", "hate"),
    ("ja", "人種差別的なポスター", "hate"),
    ("zh-Hans", "种族歧视的漫画", "hate"),
    ("zh-Hant", "種族歧視的漫畫", "hate"),
    ("ko", "인종차별 포스터", "hate"),
    ("fr", "un dessin raciste", "hate"),
    ("de", "ein Hakenkreuz an der Wand", "hate"),
    ("es", "un cartel racista", "hate"),
    ("it", "una vignetta razzista", "hate"),
]


@pytest.mark.parametrize("lang,text,theme", POSITIVE, ids=[f"{t}-{lang}" for lang, _, t in POSITIVE])
def test_theme_found_in_each_language(eng, lang, text, theme):
    assert theme in eng.detect_themes(text)


NEGATIVE = [
    "an award winning photo of a mountain lake",   # war inside award
    "a skilled archer in a meadow",                 # kill inside skilled
    "a stable full of horses",                      # stab inside stable
    "a bowl of noodles, ヌードル",                   # ヌード inside ヌードル
    "예술 작품을 감상하는 사람",                     # 술 inside 예술 (art)
    "총명한 학생이 공부한다",                        # no single-syllable 총 (gun)
    "空撮で撮影した海",                             # aerial photo
    "Ein Feld voller Klee",
    "a heroine with a shield",                      # French héroïne is not listed
    "un nudo de cuerda",                            # Spanish knot
    "a photo shoot at the beach",
    "a ghost-type creature in a cave",
    "a sword fight training session",
    "a cocoa drink and a cookie",
    "A cinematic shot of a girl walking through a quiet forest at dawn",
    "東京の夜景、シネマティック",
    "城市夜景，电影感",
    "女性的な雰囲気の肖像画",                       # feminine (性的 = sexual only on its own)
    "個性的なキャラクターデザイン",                 # distinctive
    "戏剧性的轮廓光，电影感构图",                   # dramatic rim light
    "在酒店大堂里等人",                             # hotel lobby (-酒店 hides 酒)
    "穿着酒红色的裙子",                             # wine-red dress (-酒红)
    "a woman in a cocktail dress",                  # -cocktail dress
    "a wine-red velvet scarf",                      # -wine-red
    "alcohol ink painting of a coral reef",         # an art technique (-alcohol ink)
    "portrait with nude lipstick and soft light",   # a colour (-nude lipstick)
    "a hiker in a Gore-Tex jacket",                 # a fabric (-gore-tex)
    "a glass of root beer on the porch",            # a soft drink (-root beer)
    "stars visible to the naked eye",               # -naked eye
    "イエローのドレスを着たピエロ",                 # yellow, pierrot: ^エロ must not follow katakana
    "同性愛の権利を訴える行進",                     # homosexuality is not sexual content (-同性愛)
    "술탄의 궁전",                                  # a sultan's palace (-술탄)
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_no_theme_in_ordinary_prompts(eng, text):
    assert eng.detect_themes(text) == []


def test_same_normalization_as_names(eng):
    assert eng.detect_themes("BLOODY") == ["violence"]
    assert eng.detect_themes("bl00dy streets") == ["violence"]          # leetspeak
    assert eng.detect_themes("ｂｌｏｏｄｙ") == ["violence"]            # full width
    assert eng.detect_themes("blo\u200body") == ["violence"]          # zero-width space
    assert eng.detect_themes("politique électorale") == ["politics"]  # diacritics (politique)
    assert eng.detect_themes("殭屍") == ["horror"]                     # traditional folded to simplified
    assert eng.detect_themes("ﾎﾗｰ映画") == ["horror"]                  # half-width katakana, long vowel


def test_prefix_terms_and_whole_words(eng):
    assert eng.detect_themes("the murderer") == ["violence"]    # murder*
    assert eng.detect_themes("murderous intent") == ["violence"]
    assert eng.detect_themes("kill") == ["violence"]
    assert eng.detect_themes("killjoy") == []                   # kill is a whole-word term
    assert eng.detect_themes("a zombies horde") == ["horror"]    # zombie*


def test_korean_terms_take_particles(eng):
    assert eng.detect_themes("좀비가 나타났다") == ["horror"]
    assert eng.detect_themes("술집") == ["drugs"]
    assert eng.detect_themes("기술") == []


def test_anchored_cjk_terms_do_not_end_compounds(eng):
    assert eng.detect_themes("性的な表現") == ["sexual"]                # ^性的 on its own
    assert eng.detect_themes("とても性的なポーズ") == ["sexual"]         # after kana
    assert eng.detect_themes("艺术性的构图") == []                       # artistic: after a hanzi
    assert eng.detect_themes("充满性暗示的照片") == ["sexual"]           # the usual phrase has its own term
    lex = ThemeLexicon({"space": {"ja": ["^星", "宇宙"]}, "stars": {"ja": ["星"]}})
    assert set(lex.detect("星を見る")) == {"space", "stars"}
    assert set(lex.detect("火星")) == {"stars"}                         # the anchored entry is skipped, not the pattern
    assert lex.detect("火星")["stars"].term == "星"
    assert set(lex.detect("の星")) == {"space", "stars"}


def test_a_theme_word_inside_a_name_does_not_count():
    from guard import Guard

    g = Guard.default()
    # 詛咒娃娃 / 诅咒娃娃 ("curse doll") is Banette's Chinese name; 诅咒 (curse) is a horror term.
    alone = g.check("詛咒娃娃在小公寓里煮拉面")
    assert alone.characters == ["pokemon/banette"] and alone.themes == [] and alone.action == "allow"
    assert g.check("诅咒娃娃在鬼屋里").themes == ["horror"]          # 鬼屋 (haunted house) is outside the name
    assert g.check("詛咒娃娃和一个诅咒").themes == ["horror"]        # the same word outside the name counts
    assert g.policy.detect_themes("诅咒娃娃") == ["horror"]          # text alone, with no mention known, still finds it


def test_ignored_hits_give_way_to_later_ones():
    lex = ThemeLexicon({"space": {"en": ["moon"]}})
    text = "moon river under the moon"
    assert lex.detect(text)["space"].start == 0
    later = lex.detect(text, ignore=lambda s, e: s < 10)["space"]
    assert (later.start, later.end) == (21, 25)
    assert lex.detect(text, ignore=lambda s, e: True) == {}


def test_exceptions_hide_the_terms_inside_them_and_only_there():
    lex = ThemeLexicon({"drugs": {"zh-Hans": ["喝酒", "-酒店"], "ja": ["酒"], "en": ["wine", "-wine red"]}})
    assert lex.term_count == 3
    assert lex.detect("在酒店大堂") == {}
    assert set(lex.detect("在酒店里喝酒")) == {"drugs"}                # 喝酒 outside the exception
    assert lex.detect("在酒店里喝酒")["drugs"].term == "喝酒"
    assert set(lex.detect("酒を飲む")) == {"drugs"}
    assert lex.detect("a wine red scarf") == {}
    assert set(lex.detect("a glass of wine")) == {"drugs"}
    assert ThemeLexicon({"x": {"en": ["-only an exception"]}}).detect("only an exception") == {}


def test_an_exception_counts_only_as_a_whole_word_and_only_for_its_theme():
    lex = ThemeLexicon({"drugs": {"en": ["wine", "cocktail", "-wine red", "-cocktail dress"]}, "color": {"en": ["wine"]}})
    assert set(lex.detect("a wine red scarf")) == {"color"}            # the drugs exception leaves the color term
    assert set(lex.detect("a red wine reduction sauce")) == {"drugs", "color"}  # "wine red" inside "wine reduction"
    assert set(lex.detect("cocktail dressing")) == {"drugs"}
    assert lex.detect("a cocktail dress") == {}


def test_term_markers_are_read_at_their_own_end_only():
    lex = ThemeLexicon({"t": {"en": ["*star", "moon*"], "ja": ["^星"]}})
    assert lex.detect("a *star") != {} and lex.detect("a star") == {}   # a leading * is part of the term
    assert set(lex.detect("moonlight")) == {"t"}                        # a trailing * makes a prefix
    assert lex.detect("火星") == {} and set(lex.detect("星空")) == {"t"}


def test_exceptions_in_a_theme_file(tmp_path):
    add = write(tmp_path, "t.yaml", "kind: themes\nthemes:\n  drugs:\n    en: [-beer garden]\n")
    eng = PolicyEngine.from_paths([add])
    assert eng.detect_themes("lunch in a beer garden") == []
    assert eng.detect_themes("a cold beer") == ["drugs"]              # the bundled term still counts elsewhere


def test_several_themes(eng):
    assert eng.detect_themes("a bloody zombie drinking beer at an election rally") == [
        "drugs", "horror", "politics", "violence"]


def test_lexicon_direct():
    lex = ThemeLexicon({"space": {"en": ["rocket*", "moon"], "ja": ["宇宙"]}})
    assert set(lex.detect("rockets to the moon")) == {"space"}
    assert lex.detect("honeymoon") == {}
    assert set(lex.detect("宇宙船")) == {"space"}
    hit = lex.detect("rockets")["space"]
    assert (hit.start, hit.end, hit.term) == (0, 6, "rocket*")
    assert ThemeLexicon({}).detect("anything") == {}


def test_custom_theme_file_extends_and_replaces(tmp_path):
    add = write(tmp_path, "t.yaml", "kind: themes\nthemes:\n  violence:\n    en: [bonk]\n  gambling:\n    en: [casino]\n")
    eng = PolicyEngine.from_paths([add])
    assert eng.detect_themes("bonk at the casino") == ["gambling", "violence"]
    assert eng.detect_themes("a bloody mess") == ["violence"]          # bundled terms kept
    rep = write(tmp_path, "r.yaml", "kind: themes\nreplace: true\nthemes:\n  gambling:\n    en: [casino]\n")
    eng = PolicyEngine.from_paths([rep])
    assert eng.theme_names == ("gambling",)
    assert eng.detect_themes("a bloody mess") == []


def test_decision_lists_themes(eng):
    d = eng.decide("a zombie at an election", [], None)
    assert d.themes == ["horror", "politics"]
    assert d.action == "allow"


def test_the_engine_folds_theme_terms_with_the_normalizer_it_is_given():
    """Guard passes its compiled lexicon's normalizer, so terms are folded exactly as the prompts they are looked
    for in; the engine uses it for every theme lookup, not the process-wide one."""
    from guard.normalize import Normalizer, default_normalizer

    base = default_normalizer()
    seen: list[str] = []

    class Spy(Normalizer):
        def normalize(self, text):
            seen.append(text)
            return super().normalize(text)

    spy = Spy(*base.to_state())
    eng = PolicyEngine.default(normalizer=spy)
    assert "bloody" in seen or any("blood" in t for t in seen)  # the theme terms went through it
    seen.clear()
    assert eng.detect_themes("a BLOODY battlefield") == ["violence"]
    assert seen == ["a BLOODY battlefield"]


def test_guard_start_up_builds_no_second_normalizer(guard, subprocess_env):
    """Start-up from the compiled cache takes the normalizer from the cache for the themes too (building the
    default tables cost 0.3-0.7 s per start). `guard` (the session's Guard.default()) fills the cache first."""
    import subprocess
    import sys

    code = (
        "from guard import Guard\n"
        "from guard.normalize import default_normalizer\n"
        "g = Guard.default()\n"
        "assert g.policy.detect_themes('a bloody battlefield') == ['violence']\n"
        "print(default_normalizer.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0"


def test_theme_hits_inside_many_names_by_bisection_as_one_by_one():
    # Past a few names the containment test bisects over the names' spans; it must say what the loop says.
    import random

    from guard.models import Match
    from guard.normalize import normalize
    from guard.policy.engine import _FEW_NAMES, _inside, _inside_names

    rnd = random.Random(6)
    text = "x" * 400
    nt = normalize(text)
    for _ in range(300):
        names = []
        for _ in range(rnd.randrange(_FEW_NAMES + 1, 60)):
            a = rnd.randrange(400)
            b = min(400, a + rnd.randrange(1, 30))
            names.append(Match("c/x", "c", None, a, b, text[a:b], "x", "exact", 1.0, "x"))
        test = _inside_names(nt, names)
        for _ in range(40):
            s = rnd.randrange(400)
            e = min(400, s + rnd.randrange(1, 20))
            assert test(s, e) == _inside(nt, names, s, e)
