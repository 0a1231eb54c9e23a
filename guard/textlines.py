"""Reading line-based text files (JSONL, prompt logs) as UTF-8, line by line."""
from __future__ import annotations

from typing import BinaryIO, Iterator, Union


def utf8_lines(stream: BinaryIO) -> Iterator[tuple[int, Union[str, UnicodeDecodeError]]]:
    """(line number, text) for each line of a binary stream read as UTF-8, with a byte order mark on the first line
    dropped. A line that is not UTF-8 comes with its UnicodeDecodeError in place of the text: the caller decides
    whether to stop there or skip it."""
    for number, raw in enumerate(stream, 1):
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield number, exc
