"""`guard lexicon ...`: tools for lexicon maintainers."""
from __future__ import annotations

from pathlib import Path

import click

from guard.errors import FileFormatError


@click.group("lexicon")
def lexicon_group() -> None:
    """Maintain lexicons: import data, and more."""


@lexicon_group.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Lexicon directory (default: the bundled lexicons/).")
@click.option("--ambiguous", "ambiguous_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Curated list of names that are common words (default: ambiguous_names.jsonl beside the source).")
def import_cmd(sources: tuple[Path, ...], out_dir: Path | None, ambiguous_path: Path | None) -> None:
    """Regenerate lexicon files from character JSONL data (shared/data/characters/*.jsonl) or title
    JSONL data (shared/data/titles/anime_titles.jsonl)."""
    from guard.lexicon.importer import import_records, import_titles, is_title_data
    from guard.lexicon.loader import bundled_lexicon_dir

    target = out_dir or bundled_lexicon_dir()
    target.mkdir(parents=True, exist_ok=True)
    # Character data first: title import links titles to the franchises it finds in the lexicon directory.
    ordered = sorted(sources, key=is_title_data)
    for src in ordered:
        try:
            if is_title_data(src):
                written = [import_titles(src, target)]
            else:
                written = import_records(src, target, ambiguous_path=ambiguous_path)
        except FileFormatError as exc:
            raise click.ClickException(str(exc)) from None
        for path in written:
            click.echo(f"wrote {path}")


# The maintainer commands (add, new-character, add-example, lint, explain, variants, test, discover).
from guard.cli import lexicon_tools as _lexicon_tools  # noqa: E402,F401
