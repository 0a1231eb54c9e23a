"""`guard lexicon explain`: candidate spans, what they came close to, and why each was accepted or rejected.
The verdicts must be the scanner's own."""
from __future__ import annotations

import json

import pytest

from guard.explain import ACCEPTED, CONTEXT, REJECTED, explain, format_text


def _spans(ex, surface):
    return [s for s in ex.spans if s.surface == surface]


def _near(ex, surface, target):
    for sp in _spans(ex, surface):
        for n in sp.near:
            if n.target == target:
                return sp, n
    raise AssertionError(f"no {target} near {surface!r} in {[(s.surface, [n.target for n in s.near]) for s in ex.spans]}")


def test_ambiguous_name_without_context_is_rejected(guard):
    ex = explain(guard.scanner, "an amber necklace")
    sp, n = _near(ex, "amber", "genshin_impact/amber")
    assert sp.verdict == REJECTED and n.verdict == REJECTED
    assert sp.normalized == "amber" and n.score == 1.0
    assert any("ambiguous" in r and "no context for genshin_impact" in r for r in n.reasons)
    assert ex.context == {}


def test_ambiguous_name_with_context_is_accepted(guard):
    ex = explain(guard.scanner, "Amber walking through Mondstadt")
    sp, n = _near(ex, "Amber", "genshin_impact/amber")
    assert n.verdict == ACCEPTED and any("confirmed by franchise cue: 'Mondstadt'" in r for r in n.reasons)
    ctx = _spans(ex, "Mondstadt")[0]
    assert ctx.verdict == CONTEXT and ctx.near[0].kind == "cue"
    assert "genshin_impact" in ex.context


def test_boundary_rejection(guard):
    ex = explain(guard.scanner, "a cinematic shot")
    sp, n = _near(ex, "tic", "pokemon/klink")
    assert n.verdict == REJECTED and n.reasons[0].startswith("boundary:") and "'a' before it" in n.reasons[0]


def test_overlap_rejection(guard):
    ex = explain(guard.scanner, "Raiden Shogun at dawn")
    _sp, n = _near(ex, "Shogun", "genshin_impact/raidenshogun")
    assert n.verdict == REJECTED and any(r.startswith("overlap:") for r in n.reasons)
    _sp, n = _near(ex, "Raiden Shogun", "genshin_impact/raidenshogun")
    assert n.verdict == ACCEPTED


def test_a_sign_after_a_shared_name_tells_which(guard):
    ex = explain(guard.scanner, "Nidoran ♂ pixel art")
    sp, n = _near(ex, "Nidoran ♂", "pokemon/nidoran-m")
    assert (sp.start, sp.end, sp.normalized) == (0, 9, "nidoran") and n.verdict == ACCEPTED
    _sp, n = _near(ex, "Nidoran ♂", "pokemon/nidoran-f")
    assert n.verdict == REJECTED and "the sign after it names pokemon/nidoran-m alone: 'Nidoran ♂'" in n.reasons


def test_a_name_written_with_its_sign_is_explained_once(guard):
    ex = explain(guard.scanner, "Nidoran♂")
    accepted = [(sp.start, sp.end, n.target) for sp in ex.spans for n in sp.near if n.verdict == ACCEPTED]
    assert accepted == [(0, 8, "pokemon/nidoran-m")]


def test_fuzzy_accept_and_threshold(guard):
    ex = explain(guard.scanner, "Charmandr and pikachew")
    sp, n = _near(ex, "Charmandr", "pokemon/charmander")
    assert sp.source == "fuzzy" and n.verdict == ACCEPTED and 0.8 < n.score < 1.0
    sp, n = _near(ex, "pikachew", "pokemon/pikachu")
    assert n.verdict == REJECTED
    assert any("2 edit(s)" in r for r in n.reasons) and any(r.startswith("threshold:") for r in n.reasons)


def test_normalized_text_and_offsets(guard):
    text = "ＰＩＫＡＣＨＵ on the beach"
    ex = explain(guard.scanner, text)
    sp, n = _near(ex, "ＰＩＫＡＣＨＵ", "pokemon/pikachu")
    assert sp.normalized == "pikachu" and text[sp.start : sp.end] == sp.surface and n.verdict == ACCEPTED
    assert ex.normalized.startswith("pikachu on")


@pytest.mark.parametrize(
    "prompt",
    [
        "Pikachu and Eevee at the beach",
        "an amber necklace, cinematic",
        "Amber and Kaeya in Mondstadt",
        "原神の胡桃とピカチュウ",
        "P i k a c h u surfing",
        "Charmandr breathing fire",
        "ミュウツーとミュウ",
        "saya perlu gambar kucing",
        "호두 원신 팬아트",
        "原神の天空と空",  # a common one-hanzi name next to hanzi (strict boundaries)
        "ポケモンのキャンプファイヤー",  # an ambiguous katakana name inside a longer word
        "S1aking and K1ee at the beach",  # found in the text with leetspeak 1 read as l
        "D0r! and Azumar1|| at the beach",  # and with a leetspeak word's last ! or | read as a letter
        "4mber and M o n a",  # ambiguous names spelled to evade a filter
        "Nidoran ♂ pixel art",  # a sign after a name two characters share
    ],
)
def test_accepted_spans_are_exactly_what_the_scanner_reports(guard, prompt):
    ex = explain(guard.scanner, prompt)
    accepted = {(n.target, sp.start, sp.end) for sp in ex.spans for n in sp.near if n.verdict == ACCEPTED and sp.source != "context"}
    reported = {(m.character_id, m.start, m.end) for m in guard.scan(prompt)}
    assert accepted == reported
    assert format_text(ex).splitlines()[-1].startswith("reported:")


def test_cli_explain(cli):
    r = cli("lexicon", "explain", "an amber necklace")
    assert r.exit_code == 0, r.output
    assert "normalized: an amber necklace" in r.output and "REJECT" in r.output and "no context" in r.output
    r = cli("lexicon", "explain", "Amber in Mondstadt", "--json")
    data = json.loads(r.output)
    assert [m["character_id"] for m in data["matches"] if m["confirmed"]] == ["genshin_impact/amber"]


def test_cli_explain_reads_stdin_and_refuses_what_is_not_utf8():
    from click.testing import CliRunner

    from guard.cli import main

    runner = CliRunner()
    r = runner.invoke(main, ["lexicon", "explain", "-"], input="Pikachu surfing\n".encode())
    assert r.exit_code == 0, r.output
    assert "reported: pokemon/pikachu [0:7]" in r.output
    r = runner.invoke(main, ["lexicon", "explain", "-"], input=b"\xffPikachu")
    assert r.exit_code == 2 and "not valid UTF-8: byte 0xff at offset 0" in r.output
