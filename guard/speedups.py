"""The C text kernels (`guard/_speedups.c`), when they are built, and the tables they read.

`kernels` is the compiled module or None. Without a C compiler at install time the extension is skipped
(it is optional in setup.py) and the scanner uses the pure-Python code it replaces, which gives the same
results more slowly; the benchmark report says which one ran. Setting GUARD_PURE_PYTHON=1 in the
environment forces the pure-Python path (tests/test_speedups.py compares the two).
"""
from __future__ import annotations

import os
import struct
import warnings
from array import array
from typing import Iterable, Mapping, Sequence

# The version of the kernels' arguments and results this code calls them with (API_VERSION in _speedups.c).
API_VERSION = 9

kernels = None
if os.environ.get("GUARD_PURE_PYTHON", "") in ("", "0"):
    try:
        from guard import _speedups as kernels  # type: ignore[no-redef]
    except ImportError:  # pragma: no cover - an install without a C compiler
        kernels = None
    if kernels is not None and getattr(kernels, "API_VERSION", 1) != API_VERSION:
        # Built from other sources (an editable install whose extension was not rebuilt): calling it could fail on
        # every prompt, so the pure-Python path runs, which gives the same results.
        warnings.warn(
            "guard._speedups was built from other sources than this guard; rebuild it (pip install -e . or "
            "python setup.py build_ext --inplace). Using the pure-Python code meanwhile.",
            RuntimeWarning,
            stacklevel=2,
        )
        kernels = None

FLAG_LEET_NEXT_TO_LETTER = 1
FLAG_KATAKANA = 2
FLAG_MARKED = 4  # fold_text: the folded text holds a character of its `marked` bitmap
FLAG_ASTRAL = 8  # fold_text: the folded text holds a character above the BMP

# The script classes that guard.matcher.boundary_ok has rules for, as the C kernel numbers them.
EDGE_CODES = {"latin": 1, "kata": 2, "hira": 3, "hangul": 4, "han": 5}


def bmp_bitmap(chars: Iterable[str]) -> bytes:
    """One bit per BMP code point, set for each of `chars` (characters above the BMP are left out)."""
    bits = bytearray(8192)
    for ch in chars:
        cp = ord(ch)
        if cp <= 0xFFFF:
            bits[cp >> 3] |= 1 << (cp & 7)
    return bytes(bits)


def edge_table(infos: Sequence) -> bytes:
    """The boundary facts of each PatternInfo (left and right script class, strict, length) as `accept_hits`
    reads them: 8 bytes each."""
    return b"".join(
        struct.pack("=BBBxi", EDGE_CODES.get(i.left, 0), EDGE_CODES.get(i.right, 0), 1 if i.strict else 0, i.length)
        for i in infos
    )


def bmp_fold_table(one_to_one: Mapping[int, str]) -> bytes:
    """For each BMP code point the code point it folds to, or 0 when it stays (native uint32)."""
    table = array("I", bytes(4 * 65536))
    for cp, out in one_to_one.items():
        if cp <= 0xFFFF and len(out) == 1:
            table[cp] = ord(out)
    return table.tobytes()
