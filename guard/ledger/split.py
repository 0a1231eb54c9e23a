"""How one generation is split between the rightsholders (and characters) it features.

A decision becomes a list of *claims*, one per distinct (rightsholder, character) pair taken from its revenue
tags. A split rule gives every claim a `share`: a non-negative fraction of the generation, and the shares of one
generation add up to 1. So a report's share-weighted total for a rightsholder counts generations, a generation
with two rightsholders counting as two fractions rather than twice.

Built-in rules (R = distinct rightsholders in the generation, n_r = claims of rightsholder r, N = all claims):

``equal`` (default)
    Every rightsholder gets 1/R, split equally between its characters: share = 1 / R / n_r.
``per_character``
    Every (rightsholder, character) claim gets the same: share = 1 / N. A rightsholder with more characters in
    the picture gets more.
``policy_rate``
    Rightsholders are weighted by the `share_rate` their policy tag carries (the licence's rate; when one
    rightsholder has several tags, the highest rate): share = rate_r / sum(rates) / n_r. If no rate is
    positive, falls back to ``equal``.

A custom rule is any callable ``rule(claims: Sequence[Claim]) -> Sequence[float]`` returning one non-negative
share per claim, adding up to 1; pass it as ``Ledger.open(..., split=rule)`` or register it by name with
`register_split_rule`. The rule's name is stored with every record so a report can always be explained.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

from guard.ledger.errors import LedgerError


@dataclass(frozen=True, slots=True)
class Claim:
    """One (rightsholder, character) pair a generation features, with the licence terms of its tag."""

    rightsholder: str
    character_id: str
    licence_id: Optional[str]
    share_rate: float


SplitRule = Callable[[Sequence[Claim]], Sequence[float]]


def _group_sizes(claims: Sequence[Claim]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for c in claims:
        sizes[c.rightsholder] = sizes.get(c.rightsholder, 0) + 1
    return sizes


def split_equal(claims: Sequence[Claim]) -> list[float]:
    sizes = _group_sizes(claims)
    r = len(sizes)
    return [1.0 / r / sizes[c.rightsholder] for c in claims]


def split_per_character(claims: Sequence[Claim]) -> list[float]:
    n = len(claims)
    return [1.0 / n for _ in claims]


def split_policy_rate(claims: Sequence[Claim]) -> list[float]:
    sizes = _group_sizes(claims)
    rates: dict[str, float] = {}
    for c in claims:
        rates[c.rightsholder] = max(rates.get(c.rightsholder, 0.0), c.share_rate)
    total = sum(rates.values())
    if total <= 0.0:
        return split_equal(claims)
    return [rates[c.rightsholder] / total / sizes[c.rightsholder] for c in claims]


SPLIT_RULES: dict[str, SplitRule] = {
    "equal": split_equal,
    "per_character": split_per_character,
    "policy_rate": split_policy_rate,
}


def register_split_rule(name: str, rule: SplitRule) -> None:
    """Make `rule` available as ``Ledger.open(..., split=name)``."""
    if not name or not isinstance(name, str):
        raise ValueError("a split rule needs a non-empty name")
    SPLIT_RULES[name] = rule


def resolve_split_rule(split: Union[str, SplitRule]) -> tuple[str, SplitRule]:
    """Return (name, rule) for a rule name or a callable."""
    if isinstance(split, str):
        try:
            return split, SPLIT_RULES[split]
        except KeyError:
            known = ", ".join(sorted(SPLIT_RULES))
            raise LedgerError(f"unknown split rule {split!r} (known: {known})") from None
    if callable(split):
        return getattr(split, "__name__", None) or type(split).__name__, split
    raise LedgerError(f"split must be a rule name or a callable, not {type(split).__name__}")


def apply_split(rule: SplitRule, claims: Sequence[Claim], name: str = "") -> list[float]:
    """Run `rule` and check what it returns: one finite non-negative share per claim, adding up to 1."""
    shares = [float(s) for s in rule(claims)]
    if len(shares) != len(claims):
        raise LedgerError(f"split rule {name!r} returned {len(shares)} shares for {len(claims)} claims")
    if any(not math.isfinite(s) or s < 0.0 for s in shares):
        raise LedgerError(f"split rule {name!r} returned a negative or non-finite share: {shares}")
    if abs(sum(shares) - 1.0) > 1e-9:
        raise LedgerError(f"split rule {name!r} returned shares adding up to {sum(shares)!r}, not 1")
    return shares
