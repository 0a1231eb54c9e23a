"""`guard check`: JSON output, --context validation (exit status 2), options passed to the Guard."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import guard.cli.check as check_mod
from guard.cli.check import check_cmd, parse_context


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def built(monkeypatch, real_guard):
    """Use the session Guard instead of building one per invocation; record what the command asked for."""
    calls = []

    def fake_build(lexicons=(), policies=(), **kwargs):
        calls.append((tuple(lexicons), tuple(policies), kwargs))
        return real_guard

    monkeypatch.setattr(check_mod, "build_guard", fake_build)
    return calls


def test_prints_decision_json(runner, built):
    res = runner.invoke(check_cmd, ["Pikachu surfing at sunset", "--context",
                                    '{"region":"JP","commercial":true,"at":"2026-01-15T00:00:00Z"}'])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["action"] == "tag"
    assert data["matches"][0]["character_id"] == "pokemon/pikachu"
    assert data["matches"][0]["rule"] == "tpc-example:default#commercial-licensed"
    assert data["tags"][0]["licence_id"] == "TPC-EX-2025-COM"
    assert res.output.startswith("{\n")        # indented by default
    assert built == [((), (), {})]


def test_compact_and_stdin(runner, built):
    res = runner.invoke(check_cmd, ["-", "--compact"], input="A bloody Pikachu\n")
    assert res.exit_code == 0, res.output
    assert res.output.count("\n") == 1
    data = json.loads(res.output)
    assert data["action"] == "rewrite"
    assert data["prompt"] == "A bloody small yellow electric mouse"


def test_stdin_that_is_not_utf8_exits_2_without_a_decision(runner, built):
    res = runner.invoke(check_cmd, ["-"], input=b"Pikachu \xff\xfe surfing\n")
    assert res.exit_code == 2
    assert "not valid UTF-8: byte 0xff at offset 8" in res.output
    assert '"action"' not in res.output and built == []  # nothing decided, no engine built


def test_an_argument_that_is_not_utf8_exits_2(runner, built):
    res = runner.invoke(check_cmd, ["Pika\udcffchu"])  # how Python passes undecodable argument bytes
    assert res.exit_code == 2 and "not valid UTF-8 at character 4" in res.output


def test_stdin_with_a_byte_order_mark(runner, built):
    res = runner.invoke(check_cmd, ["-", "--compact"], input="\ufeffPikachu surfing\r\n".encode("utf-8"))
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["original_prompt"] == "Pikachu surfing" and data["matches"][0]["start"] == 0
    res = runner.invoke(check_cmd, ["-"], input=b"\xef\xbb\xbfab\xff")
    assert res.exit_code == 2 and "byte 0xff at offset 5" in res.output  # offsets count the mark


def test_options_reach_the_guard(runner, built, tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("kind: policy\n", encoding="utf-8")
    lex = tmp_path / "l.yaml"
    lex.write_text("x: 1\n", encoding="utf-8")
    res = runner.invoke(check_cmd, ["hello", "--policy", str(p), "--policy", str(tmp_path), "--lexicon", str(lex),
                                    "--unknown-action", "rewrite", "--max-rewrites", "5"])
    assert res.exit_code == 0, res.output
    assert built == [((str(lex),), (str(p), str(tmp_path)), {"unknown_action": "rewrite", "max_rewrites": 5})]


def test_max_rewrites_through_the_real_guard(runner):
    res = runner.invoke(check_cmd, ["Kakuna with Yoimiya and Nahida in a garden", "--max-rewrites", "1", "--compact"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["action"] == "reject" and [r["code"] for r in data["rejections"]] == ["rewrite_too_many"]
    assert runner.invoke(check_cmd, ["hello", "--max-rewrites", "0"]).exit_code == 2


def test_exit_status_flag(runner, built):
    res = runner.invoke(check_cmd, ["Aloy in the snow", "--exit-status"])
    assert res.exit_code == 1
    assert json.loads(res.output)["action"] == "reject"
    assert runner.invoke(check_cmd, ["Pikachu", "--exit-status"]).exit_code == 0


@pytest.mark.parametrize("raw,needle", [
    ('{"regon":"JP"}', "unknown field 'regon'"),
    ('{"region":', "not valid JSON"),
    ('[1, 2]', "must be a JSON object"),
    ('{"region":"JPN"}', "region:"),
    ('{"age_group":"senior"}', "age_group:"),
    ('{"commercial":"maybe"}', "commercial:"),
])
def test_bad_context_exits_2(runner, monkeypatch, raw, needle):
    def no_build(*a, **k):  # a bad context must fail before anything is built
        raise AssertionError("built a Guard")

    monkeypatch.setattr(check_mod, "build_guard", no_build)
    res = runner.invoke(check_cmd, ["Pikachu", "--context", raw])
    assert res.exit_code == 2
    assert needle in res.output
    assert "--context" in res.output


def test_bad_unknown_action_exits_2(runner):
    res = runner.invoke(check_cmd, ["Pikachu", "--unknown-action", "ignore"])
    assert res.exit_code == 2


def test_parse_context():
    c = parse_context('{"region":"jp","commercial":true,"age_group":"adult","age_verified":true,"request_id":"r1"}')
    assert (c.region, c.commercial, c.age_group, c.age_verified, c.request_id) == ("jp", True, "adult", True, "r1")
    assert parse_context(None).commercial is False
