"""`guard scan [FILE|-]`: JSONL or plain text in, one JSON object per input line out, streaming; bad lines get
an error object and the rest continues; --lexicon replaces the bundled lexicons."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import guard.cli.scan as scan_mod
from guard.cli import main
from guard.cli.scan import parse_line, scan_stream


def run_stream(guard, data: bytes, *, candidates: bool = False, with_action: bool = False) -> tuple[list[dict], int]:
    out = io.StringIO()
    errors = scan_stream(guard, io.BytesIO(data), out, with_action=with_action, candidates=candidates, progress=False)
    return [json.loads(line) for line in out.getvalue().splitlines()], errors


# -- parse_line ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, expected",
    [
        (b'{"id": "a1", "prompt": "Pikachu"}\n', ("a1", "Pikachu", None)),
        (b'{"prompt": "Pikachu"}\n', (7, "Pikachu", None)),  # the line number stands in for a missing id
        (b'{"id": 5, "prompt": "x", "extra": [1]}\r\n', (5, "x", None)),
        (b"Pikachu surfing\n", (7, "Pikachu surfing", None)),  # plain text
        ("ピカチュウ\n".encode(), (7, "ピカチュウ", None)),
        (b"[1, 2]\n", (7, "[1, 2]", None)),  # only objects are JSON records; other lines are prompts
        (b"   \n", (None, None, None)),  # blank lines are skipped
        (b"", (None, None, None)),
    ],
)
def test_parse_line(raw, expected):
    assert parse_line(7, raw) == expected


@pytest.mark.parametrize(
    "raw, error",
    [
        (b'{"id": 1, "prompt": \n', "invalid JSON"),
        (b'{"id": 1}\n', 'missing or non-string "prompt"'),
        (b'{"id": 1, "prompt": 42}\n', 'missing or non-string "prompt"'),
        (b'{"id": 1, "prompt": null}\n', 'missing or non-string "prompt"'),
        (b'{"id": 1, "prompt": ["Pikachu"]}\n', 'missing or non-string "prompt"'),
        (b"Pika\xffchu\n", "invalid UTF-8"),
        (b'{"prompt": "' + b"[" * 100000 + b'"}\n', None),  # a long but valid string is a prompt
    ],
)
def test_parse_line_errors(raw, error):
    ident, prompt, err = parse_line(3, raw)
    if error is None:
        assert err is None and prompt.startswith("[")
    else:
        assert prompt is None and err.startswith(error)


def test_parse_line_keeps_the_id_of_a_bad_record():
    assert parse_line(3, b'{"id": "x9", "prompt": 1}')[0] == "x9"


# -- scan_stream ------------------------------------------------------------------------------------------------
def test_jsonl_stream(guard):
    data = "\n".join([
        json.dumps({"id": "p1", "prompt": "Pikachu and Charizard"}),
        json.dumps({"id": "p2", "prompt": "a quiet lake at dawn"}),
        json.dumps({"id": "p3", "prompt": "ピカチュウとピカチュウ"}, ensure_ascii=False),
    ]).encode() + b"\n"
    rows, errors = run_stream(guard, data)
    assert errors == 0
    assert [r["id"] for r in rows] == ["p1", "p2", "p3"]
    assert rows[0]["characters"] == ["pokemon/charizard", "pokemon/pikachu"]  # sorted, unique
    assert rows[1]["characters"] == [] and rows[1]["matches"] == []
    assert rows[2]["characters"] == ["pokemon/pikachu"] and len(rows[2]["matches"]) == 2
    m = rows[0]["matches"][0]
    assert {"character_id", "start", "end", "surface", "alias", "method", "score", "confirmed", "evidence"} <= set(m)
    assert "Pikachu and Charizard"[m["start"] : m["end"]] == m["surface"]


def test_plain_text_stream(guard):
    rows, errors = run_stream(guard, "Pikachu surfing\n\n피카츄가 웃는다\r\nnothing here".encode())
    assert errors == 0
    assert [(r["id"], r["characters"]) for r in rows] == [
        (1, ["pokemon/pikachu"]), (3, ["pokemon/pikachu"]), (4, [])
    ]


def test_bad_lines_get_error_objects_and_the_rest_continues(guard):
    lines = [
        b'{"id": "ok1", "prompt": "Pikachu"}',
        b'{"id": "bad-json", "prompt": ',
        b'{"id": "no-prompt"}',
        b'{"id": "not-a-string", "prompt": 12}',
        b"Pika\xff\xfechu",
        b'{"id": "ok2", "prompt": "Raichu"}',
    ]
    rows, errors = run_stream(guard, b"\n".join(lines) + b"\n")
    assert errors == 4
    assert len(rows) == 6
    assert rows[0]["characters"] == ["pokemon/pikachu"]
    assert rows[1] == {"id": 2, "line": 2, "error": rows[1]["error"]} and rows[1]["error"].startswith("invalid JSON")
    assert (rows[2]["id"], rows[2]["line"]) == ("no-prompt", 3) and "prompt" in rows[2]["error"]
    assert (rows[3]["id"], rows[3]["line"]) == ("not-a-string", 4) and "prompt" in rows[3]["error"]
    assert rows[4]["line"] == 5 and "UTF-8" in rows[4]["error"]
    assert rows[5] == {**rows[5], "id": "ok2", "characters": ["pokemon/raichu"]}


def test_candidates_flag(guard):
    rows, _ = run_stream(guard, b"ditto for the next shot\n", candidates=True)
    assert rows[0]["characters"] == []
    assert [(m["character_id"], m["confirmed"]) for m in rows[0]["matches"]] == [("pokemon/ditto", False)]
    rows, _ = run_stream(guard, b"ditto for the next shot\n")
    assert rows[0]["matches"] == []


def test_streams_line_by_line(guard):
    """Each result is written before the next line is read, so memory does not grow with the input."""
    out = io.StringIO()

    def lines():
        for i in range(1, 201):
            assert out.getvalue().count("\n") == i - 1
            yield f'{{"id": {i}, "prompt": "Pikachu number {i}"}}\n'.encode()

    errors = scan_stream(guard, lines(), out, with_action=False, candidates=False, progress=False)
    assert errors == 0
    assert out.getvalue().count("\n") == 200


def test_non_ascii_is_written_as_is(guard):
    out = io.StringIO()
    scan_stream(guard, io.BytesIO("ピカチュウ\n".encode()), out, with_action=False, candidates=False, progress=False)
    assert "ピカチュウ" in out.getvalue() and "\\u" not in out.getvalue()


# -- the command, in process -------------------------------------------------------------------------------------------
@pytest.fixture
def cli(guard, session_cache, monkeypatch):
    """Invoke `guard ...` in process. The bundled lexicons come from the session Guard; lexicons given with
    --lexicon are compiled for real (into the session cache)."""
    real = scan_mod.build_guard

    def build(lexicons=(), policies=(), **kw):
        if not lexicons and not policies:
            return guard
        return real(lexicons, policies, **kw)

    monkeypatch.setattr(scan_mod, "build_guard", build)
    monkeypatch.setenv("GUARD_CACHE_DIR", str(session_cache))
    runner = CliRunner()

    def invoke(args, input=None):
        return runner.invoke(main, args, input=input, catch_exceptions=False)

    return invoke


def test_scan_file(cli, tmp_path):
    src = tmp_path / "prompts.jsonl"
    src.write_text('{"id": "a", "prompt": "Pikachu"}\n{"id": "b", "prompt": "Hu Tao"}\n', encoding="utf-8")
    result = cli(["scan", "--no-action", str(src)])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["id"], r["characters"]) for r in rows] == [("a", ["pokemon/pikachu"]), ("b", ["genshin_impact/hutao"])]


def test_scan_stdin(cli):
    result = cli(["scan", "--no-action", "-"], input="Pikachu\nnothing\n")
    assert result.exit_code == 0
    assert [json.loads(line)["characters"] for line in result.stdout.splitlines()] == [["pokemon/pikachu"], []]


def test_scan_reports_bad_lines_on_stderr(cli):
    result = cli(["scan", "--no-action"], input='{"prompt": 1}\nPikachu\n')
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert "error" in rows[0] and rows[1]["characters"] == ["pokemon/pikachu"]
    assert "1 line(s) could not be scanned" in result.stderr


def test_scan_with_action(cli, guard):
    if guard.policy is None:
        pytest.skip("no policy engine in this build")
    result = cli(["scan"], input="Pikachu\n")
    assert result.exit_code == 0
    row = json.loads(result.stdout.splitlines()[0])
    assert row["characters"] == ["pokemon/pikachu"] and row["action"] in ("allow", "tag", "rewrite", "reject")


def test_lexicon_file_replaces_the_defaults(cli, mini_lexicon_dir):
    result = cli(["scan", "--no-action", "--lexicon", str(mini_lexicon_dir / "testverse.yaml")], input="Pikachu and Zorblax\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["characters"] == ["testverse/zorblax"]


def test_lexicon_directory_replaces_the_defaults(cli, mini_lexicon_dir):
    result = cli(["scan", "--no-action", "--lexicon", str(mini_lexicon_dir)], input="ピカチュウとゾーブラックス\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["characters"] == ["testverse/zorblax"]


def test_lexicon_is_repeatable(cli, mini_lexicon_dir, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(
        "version: 1\nfranchise: {id: otherverse, name: Otherverse, names: {en: [Otherverse]}}\n"
        "characters:\n  - id: otherverse/blorpington\n    names: {en: [Blorpington]}\n",
        encoding="utf-8",
    )
    result = cli(["scan", "--no-action", "--lexicon", str(mini_lexicon_dir), "--lexicon", str(other)],
                 input="Zorblax meets Blorpington and Pikachu\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["characters"] == ["otherverse/blorpington", "testverse/zorblax"]


def test_malformed_lexicon_is_a_clean_error(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nfranchise:\n  id: x\n  name: X\n  names: {english: [X]}\n", encoding="utf-8")
    result = cli(["scan", "--no-action", "--lexicon", str(bad)], input="Pikachu\n")
    assert result.exit_code != 0
    assert f"{bad}:5" in result.output and "franchise.names" in result.output
    assert "Traceback" not in result.output


def test_missing_lexicon_path(cli, tmp_path):
    result = cli(["scan", "--lexicon", str(tmp_path / "nope.yaml")], input="Pikachu\n")
    assert result.exit_code != 0


@pytest.mark.parametrize("name", ["nope.jsonl", "子どもたち.txt"])
def test_missing_source_file_is_a_clean_error(cli, tmp_path, name):
    """A prompt given where the file belongs (guard scan 'Pikachu surfing') is named back, not a traceback."""
    result = cli(["scan", str(tmp_path / name)])
    assert result.exit_code == 2
    assert "does not exist" in result.output and name in result.output
    assert "Traceback" not in result.output


def test_a_directory_as_source_is_a_clean_error(cli, tmp_path):
    result = cli(["scan", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.output


def test_lone_surrogate_line_does_not_abort_the_stream(guard):
    rows, errors = run_stream(guard, b'{"id": 1, "prompt": "bad \\ud800"}\n{"id": 2, "prompt": "Raichu"}\n')
    assert errors == 1 and "error" in rows[0]
    assert rows[1]["characters"] == ["pokemon/raichu"]


# -- the real console script ----------------------------------------------------------------------------------------
def _guard_exe() -> str:
    exe = Path(sys.executable).with_name("guard")
    if not exe.exists():
        pytest.skip("console script `guard` is not installed next to this Python")
    return str(exe)


def test_console_script_streams_jsonl(tmp_path, subprocess_env):
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        b'{"id": "a", "prompt": "Pikachu"}\n'
        b'{"id": "b", "prompt": \n'
        + '{"id": "c", "prompt": "ピカチュウとリザードン"}\n'.encode()
        + b"plain text about Raichu\n"
    )
    proc = subprocess.run([_guard_exe(), "scan", "--no-action", str(src)], capture_output=True, env=subprocess_env,
                          cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert [r.get("characters") for r in rows] == [["pokemon/pikachu"], None, ["pokemon/charizard", "pokemon/pikachu"],
                                                   ["pokemon/raichu"]]
    assert rows[1]["line"] == 2 and "invalid JSON" in rows[1]["error"]
    assert b"could not be scanned" in proc.stderr


def test_python_m_guard_scan_stdin_with_lexicon(tmp_path, subprocess_env, mini_lexicon_dir, session_cache, mini_guard):
    env = dict(subprocess_env, GUARD_CACHE_DIR=str(session_cache))  # mini_guard compiled into it already
    proc = subprocess.run([sys.executable, "-m", "guard", "scan", "--no-action", "--lexicon", str(mini_lexicon_dir), "-"],
                          input="Pikachu and Zorblax\n".encode(), capture_output=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["characters"] == ["testverse/zorblax"]


# -- per-line context --------------------------------------------------------------------------------------------------
def test_context_of_a_line_decides_the_action(guard):
    lines = (
        b'{"id": 1, "prompt": "Pikachu surfing at sunset", "context": {"region": "JP", "commercial": true, "at": "2026-03-02T00:00:00Z"}}\n'
        b'{"id": 2, "prompt": "Pikachu surfing at sunset", "context": {"at": "2026-03-02T00:00:00Z"}}\n'
        b'{"id": 3, "prompt": "Pikachu", "context": {"regoin": "JP"}}\n'
        b'{"id": 4, "prompt": "Pikachu", "context": "JP"}\n'
    )
    rows, errors = run_stream(guard, lines, with_action=True)
    assert rows[0]["action"] == "tag" and rows[1]["action"] == "allow"
    assert errors == 2
    assert "regoin" in rows[2]["error"] and "context" in rows[3]["error"]


def test_a_byte_order_mark_at_the_start_keeps_the_first_line_a_record(guard):
    line = b'{"id": "a", "prompt": "Pikachu surfing at sunset", "context": {"region": "JP", "commercial": true, "at": "2026-03-02T00:00:00Z"}}\n'
    plain, _ = run_stream(guard, line, with_action=True)
    rows, errors = run_stream(guard, b"\xef\xbb\xbf" + line, with_action=True)
    assert errors == 0 and rows == plain and rows[0]["id"] == "a" and rows[0]["action"] == "tag"
    # A byte order mark on a later line is no file's start: that line is plain text, as before, and scanned
    rows, errors = run_stream(guard, line + b"\xef\xbb\xbf{Pikachu at the beach}\n" + b"\xef\xbb\xbf" + line, with_action=True)
    assert errors == 0 and len(rows) == 3 and rows[1]["characters"] == rows[2]["characters"] == ["pokemon/pikachu"]
    assert rows[2]["id"] == 3 and "action" in rows[2]


@pytest.mark.parametrize("ident", ["\\ud800", "x\\udc80"])
def test_an_id_with_a_lone_surrogate_is_written_with_escapes(guard, ident):
    data = b'{"id": "' + ident.encode() + b'", "prompt": "Raichu"}\n{"id": 2, "prompt": "Pikachu"}\n'
    out = io.StringIO()
    errors = scan_stream(guard, io.BytesIO(data), out, with_action=False, candidates=False, progress=False)
    text = out.getvalue()
    text.encode("utf-8")  # the whole output is UTF-8
    rows = [json.loads(line) for line in text.splitlines()]
    assert errors == 0 and rows[0]["id"] == json.loads('"' + ident + '"') and rows[0]["characters"] == ["pokemon/raichu"]
    assert rows[1]["characters"] == ["pokemon/pikachu"]
    assert "\\u" in text.splitlines()[0]
