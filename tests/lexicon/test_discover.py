"""`guard lexicon discover`: near-misses of known aliases, and spans the optional spaCy pipelines label as
characters or persons. The pipelines are tested only where installed, and never sit on the scan path."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from guard.lexicon.discover import NEAR_MISS, Discoverer, available_pipelines, discover, read_prompts


def test_near_misses_ranked_by_frequency(guard):
    prompts = [
        "pikachew surfing on a wave",
        "a cute pikachew plush",
        "PIKACHEW on a mug",
        "Snorlacks sleeping under a tree",  # too far from Snorlax to be a near-miss
        "gardevwa by a campfire",  # three edits from Gardevoir, which allows two: found through trigrams
        "Pikachu at the beach",  # matched by the scanner: nothing to propose
        "Pikachoo in the rain",  # a typo the scanner already accepts
        "a window and a table",  # common words are never proposals
    ]
    found = discover(guard.scanner, prompts, pipelines=[])
    assert [(p.normalized, p.target, p.count) for p in found] == [("pikachew", "pokemon/pikachu", 3), ("gardevwa", "pokemon/gardevoir", 1)]
    top = found[0]
    assert top.source == NEAR_MISS and top.distance == top.limit + 1 and top.score >= 70
    assert top.surfaces == {"pikachew": 2, "PIKACHEW": 1} and top.text == "pikachew"
    assert top.command() == "guard lexicon add pokemon/pikachu pikachew"
    assert len(top.examples) == 3
    assert all(p.normalized not in ("snorlacks", "pikachu", "pikachoo", "window", "table") for p in found)


def test_min_count_and_context(guard):
    prompts = ["pikachew in the Pokémon Center", "pikachew again", "raichew once"]
    found = discover(guard.scanner, prompts, pipelines=[], min_count=2)
    assert [p.normalized for p in found] == ["pikachew"]
    assert found[0].franchises["pokemon"] == 1


def test_read_prompts():
    lines = ['{"prompt": "a"}\n', "plain text\n", "\n", '{"text": "b"}\n', "{not json\n", '{"prompt": 3}\n', '["x"]\n']
    assert list(read_prompts(lines)) == ["a", "plain text", "b", '["x"]']


def test_cli_discover(cli, tmp_path):
    log = tmp_path / "prompts.jsonl"
    log.write_text("\n".join(json.dumps({"prompt": p}, ensure_ascii=False) for p in ["pikachew surfing", "a pikachew plush", "Pikachu"]) + "\n", encoding="utf-8")
    r = cli("lexicon", "discover", str(log), "--no-ner")
    assert r.exit_code == 0, r.output
    assert "3 prompt(s)" in r.output and "'pikachew'  near-miss of pokemon/pikachu" in r.output
    assert "$ guard lexicon add pokemon/pikachu pikachew" in r.output
    r = cli("lexicon", "discover", str(log), "--no-ner", "--json", "--min-count", "1")
    data = json.loads(r.output)
    assert data["proposals"][0]["target"] == "pokemon/pikachu" and data["pipelines"] == []


def test_cli_discover_skips_lines_that_are_not_utf8(tmp_path):
    """A prompt log with a broken line is still mined; the line is named on stderr, not a traceback."""
    from click.testing import CliRunner

    from guard.cli import main

    good = [json.dumps({"prompt": p}).encode() for p in ["pikachew surfing", "a pikachew plush"]]
    log = tmp_path / "prompts.jsonl"
    log.write_bytes(b"\xef\xbb\xbf" + good[0] + b"\n" + b'{"prompt": "\xff broken"}\n' + good[1] + b"\n")
    r = CliRunner().invoke(main, ["lexicon", "discover", str(log), "--no-ner"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "2 prompt(s)" in r.stdout and "'pikachew'  near-miss of pokemon/pikachu" in r.stdout
    assert "1 line(s) skipped, not valid UTF-8 (line 2 first)" in r.stderr


def test_cli_discover_unknown_pipeline(cli, tmp_path):
    log = tmp_path / "p.jsonl"
    log.write_text('{"prompt": "x"}\n', encoding="utf-8")
    r = cli("lexicon", "discover", str(log), "--pipeline", "xx_not_a_model")
    assert r.exit_code != 0 and "not installed" in r.output


def test_ja_ginza_characters(guard):
    pytest.importorskip("ja_ginza", reason="optional extra: pip install 'character-guard[ginza]'")
    assert "ja_ginza" in available_pipelines()
    prompts = ["ルフィが海賊船に乗る", "ルフィとゾロが海賊船に乗る", "ピカチュウが森で遊んでいる"]
    d = Discoverer(guard.scanner, near_miss=False, pipelines=["ja_ginza"])
    found = d.run(prompts)
    by_text = {p.normalized: p for p in found}
    assert "ルフィ" in by_text and by_text["ルフィ"].count == 2 and by_text["ルフィ"].source == "ner:ja_ginza"
    assert set(by_text["ルフィ"].labels) <= {"Character", "Person"}
    assert "ピカチュウ" not in by_text  # a known alias, matched by the scanner
    assert d.ner_prompts["ja_ginza"] == 3


def test_ja_ginza_skips_other_languages(guard):
    pytest.importorskip("ja_ginza", reason="optional extra: pip install 'character-guard[ginza]'")
    d = Discoverer(guard.scanner, near_miss=False, pipelines=["ja_ginza"])
    d.run(["a portrait of John Smith", "皮卡丘在海边"])  # neither is Japanese
    assert d.ner_prompts.get("ja_ginza", 0) == 0


def test_en_core_web_sm_persons(guard):
    pytest.importorskip("en_core_web_sm", reason="the official English model is not on the package registry here")
    found = discover(guard.scanner, ["a portrait of John Smith in the rain", "John Smith at a desk"], near_miss=False, pipelines=["en_core_web_sm"])
    assert any(p.normalized == "john smith" and p.source == "ner:en_core_web_sm" for p in found)


def test_scanning_never_loads_a_statistical_pipeline():
    code = (
        "import sys\n"
        "from guard import Guard\n"
        "g = Guard.default()\n"
        "g.scan('ピカチュウとルフィ')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ja_ginza', 'ginza', 'en_core_web_sm', 'sudachipy', 'guard.lexicon.discover')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
