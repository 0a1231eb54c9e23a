"""The split rules, and that the rule a ledger uses is what gets stored."""
from __future__ import annotations

import math

import pytest

from guard.ledger import SPLIT_RULES, LedgerError, build_record, register_split_rule
from guard.ledger.split import Claim, apply_split, resolve_split_rule
from ledgerkit import decision, tag

# acme: 2 characters at 10 %, bolt: 1 character at 20 %, cat: 1 character at 0 %
THREE = decision("d", tag("acme", "a1", "a2", rate=0.1), tag("bolt", "b1", rate=0.2), tag("cat", "c1", rate=0.0))


def shares(split, d=THREE):
    name, rule = resolve_split_rule(split)
    r = build_record(d, None, None, None, name, rule)
    return {(s.rightsholder, s.character_id): s.share for s in r.shares}


def close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], abs_tol=1e-12) for k in a)


def test_equal_gives_each_rightsholder_the_same_then_each_of_its_characters():
    assert close(shares("equal"), {("acme", "a1"): 1 / 6, ("acme", "a2"): 1 / 6, ("bolt", "b1"): 1 / 3, ("cat", "c1"): 1 / 3})


def test_per_character_gives_each_pair_the_same():
    assert close(shares("per_character"), {("acme", "a1"): 0.25, ("acme", "a2"): 0.25, ("bolt", "b1"): 0.25, ("cat", "c1"): 0.25})


def test_policy_rate_weights_rightsholders_by_their_rate():
    # rates 0.1 : 0.2 : 0.0 -> acme 1/3 (split over 2 characters), bolt 2/3, cat nothing
    assert close(shares("policy_rate"), {("acme", "a1"): 1 / 6, ("acme", "a2"): 1 / 6, ("bolt", "b1"): 2 / 3, ("cat", "c1"): 0.0})


def test_policy_rate_uses_a_rightsholders_highest_rate_and_falls_back_to_equal():
    d = decision("d", tag("acme", "a1", rate=0.1), tag("acme", "a2", rate=0.3), tag("bolt", "b1", rate=0.3))
    assert close(shares("policy_rate", d), {("acme", "a1"): 0.25, ("acme", "a2"): 0.25, ("bolt", "b1"): 0.5})
    d = decision("d", tag("acme", "a1", rate=0.0), tag("bolt", "b1", "b2", rate=0.0))
    assert close(shares("policy_rate", d), shares("equal", d))


def test_single_rightsholder_gets_everything_under_every_rule():
    d = decision("d", tag("acme", "a1", rate=0.3))
    for name in ("equal", "per_character", "policy_rate"):
        assert shares(name, d) == {("acme", "a1"): 1.0}


def test_custom_rules_by_callable_and_by_name():
    def first_takes_all(claims):
        return [1.0] + [0.0] * (len(claims) - 1)

    assert shares(first_takes_all)[("acme", "a1")] == 1.0
    name, _ = resolve_split_rule(first_takes_all)
    assert name == "first_takes_all"
    register_split_rule("test_first_takes_all", first_takes_all)
    try:
        assert shares("test_first_takes_all")[("cat", "c1")] == 0.0
    finally:
        SPLIT_RULES.pop("test_first_takes_all")


@pytest.mark.parametrize("bad", [lambda c: [1.0], lambda c: [0.5] * len(c), lambda c: [-1.0, 1.0, 0.5, 0.5],
                                 lambda c: [float("nan")] * len(c)])
def test_a_rule_must_return_one_nonnegative_share_per_claim_adding_up_to_one(bad):
    claims = [Claim("a", str(i), None, 0.1) for i in range(4)]
    with pytest.raises(LedgerError):
        apply_split(bad, claims, "bad")


def test_unknown_rule_name():
    with pytest.raises(LedgerError, match="unknown split rule 'nope'"):
        resolve_split_rule("nope")


@pytest.mark.parametrize("rule", ["equal", "per_character", "policy_rate"])
def test_ledger_stores_the_split_and_its_name(open_ledger, sqlite_url, rule):
    ledger = open_ledger(sqlite_url, split=rule)
    ledger.record(THREE, request_id="r")
    (stored,) = ledger.records()
    assert stored.split_rule == rule
    assert close({(s.rightsholder, s.character_id): s.share for s in stored.shares}, shares(rule))
    assert math.isclose(sum(s.share for s in stored.shares), 1.0)
