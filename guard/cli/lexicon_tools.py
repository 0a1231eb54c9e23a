"""The maintainer commands of `guard lexicon`: add, new-character, add-example, lint, explain, variants, test,
discover. They register themselves on the `lexicon` group (imported at the end of guard/cli/lexicon.py)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from guard.cli.common import UTF8_TEXT, prompt_text
from guard.cli.lexicon import lexicon_group
from guard.errors import FileFormatError
from guard.textlines import utf8_lines

lexicons_option = click.option(
    "--lexicon", "lexicon", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="Lexicon file or directory (repeatable; default: the bundled lexicons).",
)


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


def _compiled(paths):
    from guard.cache import compile_cached
    from guard.lexicon.loader import load_lexicons

    loaded = load_lexicons(list(paths) or None)
    return loaded, compile_cached(loaded)


def _scanner(paths):
    from guard.matcher import Scanner

    loaded, compiled = _compiled(paths)
    return loaded, Scanner(compiled)


# -- editing ------------------------------------------------------------------------------------------------
@lexicon_group.command("add")
@click.argument("character_id")
@click.argument("alias", type=UTF8_TEXT)
@click.option("--lang", default=None, help="BCP-47 tag of the alias (en, ja, ja-Latn, zh-Hans, ...).")
@click.option("--ambiguous/--not-ambiguous", default=None, help="Mark the alias as needing context, or never.")
@click.option("--force", is_flag=True, help="Add even if another character already has this alias.")
@lexicons_option
def add_cmd(character_id: str, alias: str, lang: Optional[str], ambiguous: Optional[bool], force: bool, lexicon: tuple[Path, ...]) -> None:
    """Add ALIAS to CHARACTER_ID in the lexicon file that defines it (comments and order are kept).

    For a name the character already has, or a spelling the compiler already generates for it (a name part,
    a romaji form), --ambiguous / --not-ambiguous put it in the record's `ambiguous` / `not_ambiguous` list
    instead. The file is validated before it is replaced.
    """
    from guard.lexicon.edit import add_alias, alias_report

    try:
        report = alias_report(alias, character_id, lang=lang, paths=list(lexicon) or None)
        if report.conflicts and not force:
            raise click.ClickException(
                f"{alias!r} is already " + "; ".join(report.conflicts) + ". Pass --force to add it anyway (lint reports shared aliases)."
            )
        result = add_alias(character_id, alias, lang=lang, ambiguous=ambiguous, paths=list(lexicon) or None, generated=report.generated)
    except FileFormatError as exc:
        raise _fail(exc) from None
    click.echo(result.message)
    for note in report.notes + result.notes:
        click.echo(f"note: {note}")


@lexicon_group.command("new-character")
@click.argument("character_id")
@click.option("--franchise", required=True, help="Franchise id; the record goes to the lexicon file of this franchise.")
@click.option("--name", "names", multiple=True, required=True, type=UTF8_TEXT, help="TAG=NAME, repeatable: --name en=Pikachu --name ja=ピカチュウ")
@click.option("--alias", "aliases", multiple=True, help="Extra alias (repeatable).")
@click.option("--cue", "cues", multiple=True, help="Character cue word (repeatable).")
@click.option("--ambiguous", "ambiguous", multiple=True, help="A name that is also a common word (repeatable).")
@click.option("--rightsholder", default=None)
@click.option("--descriptor", default=None, help="Generic description used by rewrites.")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Lexicon file to add to; created if missing.")
@click.option("--franchise-name", default=None, help="Display name of the franchise when --file creates a new file.")
@lexicons_option
def new_character_cmd(character_id, franchise, names, aliases, cues, ambiguous, rightsholder, descriptor, file, franchise_name, lexicon) -> None:
    """Create a character record: guard lexicon new-character FR/KEY --franchise FR --name en=... --name ja=..."""
    from guard.lexicon.edit import new_character, parse_names

    try:
        result = new_character(
            character_id, franchise=franchise, names=parse_names(names), aliases=aliases, cues=cues, ambiguous=ambiguous,
            rightsholder=rightsholder, descriptor=descriptor, paths=list(lexicon) or None, file=file, franchise_name=franchise_name,
        )
    except FileFormatError as exc:
        raise _fail(exc) from None
    click.echo(result.message)
    for note in result.notes:
        click.echo(f"note: {note}")


@lexicon_group.command("add-example")
@click.argument("character_id")
@click.argument("prompt", type=UTF8_TEXT)
@click.option("--not-match", "not_match", is_flag=True, help="A prompt that must NOT report the character.")
@click.option("--check/--no-check", default=True, help="Run the example right away (default: yes).")
@lexicons_option
def add_example_cmd(character_id: str, prompt: str, not_match: bool, check: bool, lexicon: tuple[Path, ...]) -> None:
    """Add an example prompt to a character (examples.should_match, or should_not_match with --not-match)."""
    from guard.lexicon.edit import add_example

    try:
        result = add_example(character_id, prompt, should_match=not not_match, paths=list(lexicon) or None)
    except FileFormatError as exc:
        raise _fail(exc) from None
    click.echo(result.message)
    if check:
        from guard.lexicon.examples import SHOULD_MATCH, SHOULD_NOT_MATCH, Example, run

        _loaded, scanner = _scanner(lexicon)
        r = run(scanner, Example(result.path, character_id, SHOULD_NOT_MATCH if not_match else SHOULD_MATCH, -1, prompt.strip()))
        click.echo(r.describe())
        if not r.passed:
            sys.exit(1)


# -- checking -----------------------------------------------------------------------------------------------
@lexicon_group.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--strict", is_flag=True, help="Fail on warnings too (exit status 1).")
@click.option("--fix", is_flag=True, help="Rewrite files that are not in canonical form.")
@click.option("--verbose", "-v", is_flag=True, help="Also print notes (handled common words, short ambiguous names, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--ignore", multiple=True, metavar="CODE", help="Skip a check by code (repeatable): " + ", ".join(
    ("invalid", "format", "shared-alias", "context-collision", "common-word", "short-alias", "missing-name", "unused-override", "redundant-alias")))
@click.option("--require-lang", "require_langs", multiple=True, metavar="TAG", help="Main languages every character needs a name in (default: en ja zh-Hans ko).")
@click.option("--word-langs", default=None, help="Comma-separated wordfreq languages for the common-word check (default: the compiler's, nl sv pl id tr vi ru, and the lexicons' name languages).")
@click.option("--no-format-check", "no_format", is_flag=True, help="Skip the canonical-form check (faster).")
def lint_cmd(paths, strict, fix, verbose, as_json, ignore, require_langs, word_langs, no_format) -> None:
    """Check lexicons (default: the bundled ones). Exit status: 0 clean, 1 errors (or warnings with --strict).

    Output lines are FILE:LINE: SEVERITY [CODE] CHARACTER: MESSAGE.
    """
    from guard.lexicon.lint import INFO, MAIN_LANGS, lint

    try:
        report = lint(
            list(paths) or None, require_langs=require_langs or MAIN_LANGS, check_format=not no_format, fix=fix,
            langs=[x.strip() for x in word_langs.split(",") if x.strip()] if word_langs else None, ignore=ignore,
        )
    except FileFormatError as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(report.to_json())
    else:
        for issue in report.issues:
            if issue.severity != INFO or verbose:
                click.echo(issue.format())
        for f in report.fixed:
            click.echo(f"rewrote {f}")
        click.echo(report.summary(), err=True)
    sys.exit(1 if report.failed(strict) else 0)


@lexicon_group.command("explain")
@click.argument("prompt", type=UTF8_TEXT)
@click.option("--json", "as_json", is_flag=True)
@lexicons_option
def explain_cmd(prompt: str, as_json: bool, lexicon: tuple[Path, ...]) -> None:
    """Show each candidate span of PROMPT (- reads it from stdin), the aliases it came close to, and why each was
    accepted or rejected."""
    from guard.explain import explain, format_text

    prompt = prompt_text(prompt)
    try:
        _loaded, scanner = _scanner(lexicon)
    except FileFormatError as exc:
        raise _fail(exc) from None
    ex = explain(scanner, prompt)
    click.echo(ex.to_json() if as_json else format_text(ex))


@lexicon_group.command("variants")
@click.argument("name", type=UTF8_TEXT)
@click.option("--lang", default=None, help="Language tag of NAME (default: guessed from its script).")
@click.option("--json", "as_json", is_flag=True)
@lexicons_option
def variants_cmd(name: str, lang: Optional[str], as_json: bool, lexicon: tuple[Path, ...]) -> None:
    """Print the patterns compile-time expansion generates for NAME.

    NAME may also be a character id (pokemon/pikachu): then every name of the record is expanded, name parts
    included, and each pattern says whether the compiled lexicon kept it or dropped it as shared.
    """
    from guard.lexicon import variants as v

    try:
        if "/" in name and " " not in name and lang is None:
            loaded, compiled = _compiled(lexicon)
            if any(c.id == name for _p, lex in loaded.files for c in lex.characters):
                result = v.variants_of_character(name, loaded, compiled)
                click.echo(v.to_json(result, character=name) if as_json else v.format_text(name, result))
                return
        used, result = v.variants_of_name(name, lang)
    except FileFormatError as exc:
        raise _fail(exc) from None
    title = f"{name} ({used}{'' if lang else ', guessed from the script; use --lang'})"
    click.echo(v.to_json(result, name=name, lang=used) if as_json else v.format_text(title, result))


@lexicon_group.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--character", default=None, help="Only this character's examples.")
@click.option("--verbose", "-v", is_flag=True, help="Print passing examples too.")
@click.option("--json", "as_json", is_flag=True)
def test_cmd(paths, character: Optional[str], verbose: bool, as_json: bool) -> None:
    """Run the lexicons' examples (should_match / should_not_match). Exit status 1 if any fails."""
    from guard.lexicon.examples import run_all, to_json

    try:
        loaded, scanner = _scanner(paths)
    except FileFormatError as exc:
        raise _fail(exc) from None
    results = run_all(scanner, loaded, character)
    failed = [r for r in results if not r.passed]
    if as_json:
        click.echo(to_json(results))
    else:
        for r in results:
            if verbose or not r.passed:
                click.echo(r.describe())
        click.echo(f"{len(results)} example(s): {len(results) - len(failed)} passed, {len(failed)} failed", err=True)
    sys.exit(1 if failed else 0)


def _utf8_lines(stream, skipped: list[int]):
    """The lines of a binary stream as text (a byte order mark on the first dropped); the numbers of those that
    are not UTF-8 go to `skipped`."""
    for number, text in utf8_lines(stream):
        if isinstance(text, UnicodeDecodeError):
            skipped.append(number)
        else:
            yield text


@lexicon_group.command("discover")
@click.argument("prompts", type=click.File("rb"))
@click.option("--top", default=50, show_default=True, help="Show this many proposals.")
@click.option("--min-count", default=2, show_default=True, help="Propose only what occurs in at least this many prompts.")
@click.option("--near-miss/--no-near-miss", default=True, help="Near-misses of known aliases (fuzzy scores just over the threshold).")
@click.option("--ner/--no-ner", default=True, help="Use the installed optional spaCy pipelines (ja_ginza, en_core_web_sm).")
@click.option("--pipeline", "pipelines", multiple=True, help="Only these pipelines (package names).")
@click.option("--ner-limit", default=5000, show_default=True, help="At most this many prompts per pipeline (they are slow).")
@click.option("--json", "as_json", is_flag=True)
@lexicons_option
def discover_cmd(prompts, top, min_count, near_miss, ner, pipelines, ner_limit, as_json, lexicon) -> None:
    """Mine PROMPTS.jsonl ({"prompt": ...} per line, or plain lines; - for stdin) for likely character mentions
    missing from the lexicons, ranked by frequency."""
    import json as _json

    from guard.lexicon import discover as d

    installed = d.available_pipelines()
    if not ner:
        use: list[str] = []
    elif pipelines:
        missing = [p for p in pipelines if p not in installed]
        if missing:
            raise click.ClickException(f"not installed: {', '.join(missing)} (installed: {', '.join(installed) or 'none'})")
        use = list(pipelines)
    else:
        use = installed
    if ner and not use:
        click.echo("note: no optional spaCy pipeline installed (pip install 'character-guard[ginza]' for ja_ginza); near-misses only", err=True)
    try:
        _loaded, scanner = _scanner(lexicon)
    except FileFormatError as exc:
        raise _fail(exc) from None
    disc = d.Discoverer(scanner, near_miss=near_miss, pipelines=use, ner_limit=ner_limit)
    skipped: list[int] = []
    disc.run(d.read_prompts(_utf8_lines(prompts, skipped)))
    if skipped:  # a log with a few broken lines is still worth mining; say which were left out
        click.echo(f"guard lexicon discover: {len(skipped)} line(s) skipped, not valid UTF-8 (line {skipped[0]} first)", err=True)
    ranked = disc.ranked(min_count)
    if as_json:
        click.echo(_json.dumps({"prompts": disc.prompts, "pipelines": use, "proposals": [p.to_dict() for p in ranked[:top]]}, ensure_ascii=False, indent=2))
    else:
        click.echo(d.format_text(ranked, prompts=disc.prompts, limit=top))
