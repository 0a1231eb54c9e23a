"""Every example of every bundled lexicon runs as a test (one test per prompt), and `guard lexicon test`."""
from __future__ import annotations

import pytest

from guard.lexicon.examples import SHOULD_MATCH, SHOULD_NOT_MATCH, Example, collect, run, run_all
from guard.lexicon.loader import load_lexicons

from .lexkit import TOY

_LOADED = load_lexicons()
EXAMPLES = collect(_LOADED)


@pytest.fixture(scope="module")
def scanner(guard):
    return guard.scanner


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example(scanner, example: Example):
    result = run(scanner, example)
    assert result.passed, result.describe()


def test_examples_cover_the_ambiguous_names():
    """Every character with curated ambiguous names shows both sides: a match in context and the everyday
    word that is not a match."""
    kinds: dict[str, set[str]] = {}
    for ex in EXAMPLES:
        kinds.setdefault(ex.character_id, set()).add(ex.kind)
    missing = [
        c.id for _p, lex in _LOADED.files for c in lex.characters
        if c.ambiguous and kinds.get(c.id) != {SHOULD_MATCH, SHOULD_NOT_MATCH}
    ]
    assert missing == []
    assert len({e.character_id for e in EXAMPLES}) >= 100


def test_run_all_and_failures(toy_dir):
    from guard import Guard

    broken = TOY.replace("        - a glass of sparkling wine\n", "        - a glass of sparkling wine\n        - Sparkleton again\n")
    (toy_dir / "toyverse.yaml").write_text(broken, encoding="utf-8")
    loaded = load_lexicons([toy_dir])
    guard = Guard.from_paths([toy_dir])
    results = run_all(guard.scanner, loaded)
    assert [(r.example.id, r.passed) for r in results if not r.passed] == [("toyverse/sparky:should_not_match:1", False)]
    assert results[0].describe().startswith("ok")
    assert run_all(guard.scanner, loaded, "toyverse/amber") and all(r.example.character_id == "toyverse/amber" for r in run_all(guard.scanner, loaded, "toyverse/amber"))


def test_cli_test(cli, toy_dir):
    r = cli("lexicon", "test", str(toy_dir))
    assert r.exit_code == 0, r.output
    assert "4 example(s): 4 passed, 0 failed" in r.output
    toy = toy_dir / "toyverse.yaml"
    toy.write_text(TOY.replace("        - an amber necklace\n", "        - an amber necklace\n        - Amber from Toyverse again\n"), encoding="utf-8")
    r = cli("lexicon", "test", str(toy_dir), "--verbose")
    assert r.exit_code == 1
    assert "FAIL toyverse/amber:should_not_match:1" in r.output and "ok   toyverse/sparky:should_match:0" in r.output
