"""`guard lexicon lint`: every check on small lexicons, exit statuses, --fix, and the bundled lexicons."""
from __future__ import annotations

import json

from guard.lexicon.lint import ERROR, INFO, WARNING, lint

from .lexkit import TOY, write

OTHER = """\
version: 1
franchise:
  id: otherverse
  name: Otherverse
  rightsholder: Other Company
  names:
    en: [Otherverse]
  cues: []
characters:
  - id: otherverse/zoe
    names:
      en: [Spärkleton]
      ja: [ゾーイ]
      zh-Hans: [佐伊]
      ko: [조이]
"""


def _issues(report, code=None, severity=None):
    return [i for i in report.issues if (code is None or i.code == code) and (severity is None or i.severity == severity)]


def _lint(paths, **kw):
    return lint(paths, langs=["en", "de", "fr", "es", "it", "pt", "ja", "zh", "ko"], **kw)


def test_clean_lexicon_passes(toy_dir, cache_env):
    report = _lint([toy_dir])
    assert [i.format() for i in report.issues if i.severity != INFO] == []
    assert not report.failed(strict=True)
    # The ambiguous name is still reported, as a note with its languages and frequencies.
    amber = _issues(report, "common-word", INFO)
    assert amber and "'Amber'" in amber[0].message and "en " in amber[0].message and "marked ambiguous" in amber[0].message


def test_shared_alias_across_franchises_after_normalization(toy_dir, cache_env):
    other = write(toy_dir, "other.yaml", OTHER)
    report = _lint([toy_dir])
    shared = _issues(report, "shared-alias")
    assert len(shared) == 1 and shared[0].severity == ERROR
    msg = shared[0].message
    assert "'Sparkleton' (toyverse/sparky)" in msg and "'Spärkleton' (otherverse/zoe)" in msg
    assert "after normalization" in msg and "'sparkleton'" in msg
    assert shared[0].path == str(toy_dir / "toyverse.yaml") or shared[0].path == str(other)
    assert shared[0].line is not None
    assert report.failed()


def test_shared_alias_within_one_franchise_is_a_warning(toy_dir, cache_env):
    toy = toy_dir / "toyverse.yaml"
    toy.write_text(TOY.replace("en: [Blockhead Bobbington]", "en: [Blockhead Bobbington, SPARKLETON]"), encoding="utf-8")
    report = _lint([toy_dir])
    shared = _issues(report, "shared-alias")
    assert [i.severity for i in shared] == [WARNING]
    assert "same franchise and rightsholder" in shared[0].message
    assert not report.failed() and report.failed(strict=True)


def test_common_words(toy_dir, cache_env):
    toy = toy_dir / "toyverse.yaml"
    text = TOY.replace("en: [Blockhead Bobbington]", "en: [Blockhead Bobbington, Window, Have]")
    toy.write_text(text.replace("ko: [블록보빙턴]", "ko: [블록보빙턴]\n    not_ambiguous: [Window, Have]"), encoding="utf-8")
    report = _lint([toy_dir])
    notes = {i.message.split("'")[1]: i for i in _issues(report, "common-word")}
    assert notes["Window"].severity == INFO and "kept unambiguous" in notes["Window"].message
    assert notes["Have"].severity == INFO
    # Without the override the compiler marks them ambiguous itself: still notes, with the reason.
    toy.write_text(text, encoding="utf-8")
    report = _lint([toy_dir])
    notes = {i.message.split("'")[1]: i for i in _issues(report, "common-word")}
    assert notes["Window"].severity == INFO and "marked ambiguous: common word" in notes["Window"].message


def test_common_word_in_a_language_the_compiler_does_not_check(toy_dir, cache_env):
    # "perlu" is Indonesian for "need" (zipf 5.95): the compiler checks only its own languages and leaves it
    # unmarked; lint reads more word lists and calls that an error.
    toy = toy_dir / "toyverse.yaml"
    toy.write_text(TOY.replace("en: [Blockhead Bobbington]", "en: [Blockhead Bobbington]\n      de: [Perlu, Numera]"), encoding="utf-8")
    report = lint([toy_dir], langs=["en", "de", "id", "sv"])
    found = {i.message.split("'")[1]: i for i in _issues(report, "common-word")}
    assert found["Perlu"].severity == ERROR and "id 5.9" in found["Perlu"].message
    assert found["Numera"].severity == WARNING and "sv 4.9" in found["Numera"].message
    assert report.failed()


def test_short_aliases(toy_dir, cache_env):
    toy = toy_dir / "toyverse.yaml"
    aliases = "[Bo, {text: Bb, ambiguous: false}, 方, {text: 空, ambiguous: false}, 魈]"
    toy.write_text(TOY.replace("ko: [블록보빙턴]", f"ko: [블록보빙턴]\n    aliases: {aliases}"), encoding="utf-8")
    report = _lint([toy_dir])
    short = {i.message.split("'")[1]: i for i in _issues(report, "short-alias")}
    assert short["Bb"].severity == ERROR and "too short" in short["Bb"].message
    assert short["空"].severity == ERROR  # a common character forced unambiguous
    assert short["Bo"].severity == INFO and short["方"].severity == INFO  # marked ambiguous by the compiler
    # A rare character matches anywhere by design; the note shows the words it occurs in.
    assert short["魈"].severity == INFO and "rare" in short["魈"].message and "山魈" in short["魈"].message
    assert report.failed()


def test_missing_names_and_required_languages(toy_dir, cache_env):
    toy = toy_dir / "toyverse.yaml"
    toy.write_text(TOY.replace("      ko: [블록보빙턴]\n", ""), encoding="utf-8")
    report = _lint([toy_dir])
    missing = _issues(report, "missing-name")
    assert [(i.severity, i.character, i.message) for i in missing] == [(WARNING, "toyverse/blocky", "no name in ko")]
    assert missing[0].line == toy.read_text(encoding="utf-8").splitlines().index("    names:", 30) + 1
    assert not _issues(_lint([toy_dir], require_langs=["en"]), "missing-name")


def test_unused_override_and_redundant_alias(toy_dir, cache_env):
    toy = toy_dir / "toyverse.yaml"
    toy.write_text(TOY.replace("ambiguous: [Amber]", "aliases: [AMBER]\n    ambiguous: [Amber, Amberr]"), encoding="utf-8")
    report = _lint([toy_dir])
    unused = _issues(report, "unused-override")
    assert len(unused) == 1 and "'Amberr'" in unused[0].message and unused[0].severity == WARNING
    assert [i.severity for i in _issues(report, "redundant-alias")] == [INFO]


def test_format_check_and_fix(toy_dir, cache_env):
    toy = toy_dir / "toyverse.yaml"
    block_names = TOY.replace("      en: [Amber]\n", "      en:\n        - Amber\n")
    toy.write_text(block_names, encoding="utf-8")
    report = _lint([toy_dir])
    fmt = _issues(report, "format")
    assert len(fmt) == 1 and fmt[0].severity == ERROR
    assert fmt[0].line == block_names.splitlines().index("      en:") + 1
    assert report.failed()
    fixed = _lint([toy_dir], fix=True)
    assert fixed.fixed == [toy] and not _issues(fixed, "format")
    assert toy.read_text(encoding="utf-8") == TOY  # comments kept, flow style restored
    assert not _issues(_lint([toy_dir]), "format")


def test_invalid_file_is_reported_and_the_rest_is_linted(toy_dir, cache_env):
    bad = write(toy_dir, "broken.yaml", OTHER.replace("ja: [ゾーイ]", "japanese: [ゾーイ]"))
    report = _lint([toy_dir])
    invalid = _issues(report, "invalid")
    assert len(invalid) == 1
    assert invalid[0].path == str(bad) and "characters.0.names" in invalid[0].message and "'japanese'" in invalid[0].message
    assert invalid[0].line == bad.read_text(encoding="utf-8").splitlines().index("      japanese: [ゾーイ]") + 1
    assert _issues(report, "common-word")  # the valid file was still checked
    assert report.failed()


def test_duplicate_ids_across_files(toy_dir, cache_env):
    write(toy_dir, "twin.yaml", OTHER.replace("otherverse/zoe", "toyverse/amber"))
    report = _lint([toy_dir])
    invalid = _issues(report, "invalid")
    assert invalid and "already defined" in invalid[0].message


def test_ignore(toy_dir, cache_env):
    write(toy_dir, "other.yaml", OTHER)
    assert not _issues(_lint([toy_dir], ignore=["shared-alias"]), "shared-alias")


def test_cli_exit_status_and_output(cli, toy_dir):
    r = cli("lexicon", "lint", str(toy_dir), "--word-langs", "en,de,ja")
    assert r.exit_code == 0, r.output
    assert "0 error(s)" in r.output
    write(toy_dir, "other.yaml", OTHER)
    r = cli("lexicon", "lint", str(toy_dir), "--word-langs", "en,de,ja")
    assert r.exit_code == 1
    assert "error [shared-alias]" in r.output
    r = cli("lexicon", "lint", str(toy_dir), "--word-langs", "en", "--json")
    data = json.loads(r.output[: r.output.rindex("}") + 1])
    assert data["errors"] >= 1 and any(i["code"] == "shared-alias" for i in data["issues"])


def test_cli_strict(cli, toy_dir):
    toy = toy_dir / "toyverse.yaml"
    toy.write_text(TOY.replace("      ko: [블록보빙턴]\n", ""), encoding="utf-8")
    assert cli("lexicon", "lint", str(toy_dir), "--word-langs", "en").exit_code == 0
    r = cli("lexicon", "lint", str(toy_dir), "--word-langs", "en", "--strict")
    assert r.exit_code == 1 and "warning [missing-name]" in r.output


def test_bundled_lexicons_pass_lint():
    """The shipped lexicons have no errors, canonical form included (warnings are judgement calls left to
    maintainers: see lexicons/README.md). Uses the user's compiled cache, as `guard lexicon lint` does."""
    report = lint()
    assert [i.format() for i in report.issues if i.severity == ERROR] == []
    assert not report.failed()


TITLES = """\
version: 1
source: made up for the tests
titles:
  - id: test/1
    title: Toy Box Chronicles
    synonyms: [玩具箱编年史]
    franchise: toyverse
"""


def test_title_lexicons_are_format_checked(tmp_path, cache_env):
    titles = write(tmp_path, "titles.yaml", TITLES)
    assert not lint([titles]).issues  # a title lexicon alone: nothing to compile, nothing wrong
    write(tmp_path, "titles.yaml", TITLES.replace("    synonyms: [玩具箱编年史]\n", "    synonyms:\n      - 玩具箱编年史\n"))
    assert [i.code for i in lint([titles]).issues] == ["format"]


def test_titles_next_to_characters(toy_dir):
    write(toy_dir, "titles.yaml", TITLES.replace("Toy Box Chronicles", "Sparkleton"))
    report = _lint([toy_dir])
    hits = _issues(report, "context-collision")
    assert hits and hits[0].severity == WARNING and "title 'Sparkleton' (test/1" in hits[0].message
