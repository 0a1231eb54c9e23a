"""Which decisions become records, and what a record holds."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from guard.ledger import UNATTRIBUTED, build_record, is_revenue_bearing
from guard.ledger.split import split_equal
from guard.models import CheckContext
from ledgerkit import decision, match, tag


def make(d, ctx=None, request_id=None, at=None):
    return build_record(d, ctx, request_id, at, "equal", split_equal)


@pytest.mark.parametrize(
    "action, tags, expected",
    [
        ("tag", [tag("acme", "a")], True),
        ("allow", [tag("acme", "a")], True),  # an allowed use the policy made revenue-bearing
        ("rewrite", [tag("acme", "a")], True),  # rewritten, but a tagged character stays in the generation
        ("reject", [tag("acme", "a")], False),  # nothing is generated
        ("allow", [], False),
        ("rewrite", [], False),
        ("reject", [], False),
        ("tag", [], True),  # a tag decision is always recorded
    ],
)
def test_which_decisions_are_recorded(action, tags, expected):
    assert is_revenue_bearing(decision("d", *tags, action=action)) is expected


def test_record_fields():
    at = datetime(2025, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=9)))
    d = decision("dec-1", tag("acme", "a1", "a2", rate=0.1, licence="L-1"), tag("bolt", "b1", rate=0.2),
                 policy_version="2025.03")
    ctx = CheckContext(commercial=True, region="jp", request_id="ctx-req")
    r = make(d, ctx, "req-1", at)
    assert r.decision_id == "dec-1"
    assert r.request_id == "req-1"  # the explicit request id wins over the context's
    assert r.recorded_at == datetime(2025, 3, 1, 3, 0, tzinfo=timezone.utc)
    assert r.recorded_at.tzinfo == timezone.utc
    assert r.region == "JP"
    assert r.commercial is True
    assert r.policy_version == "2025.03"
    assert r.split_rule == "equal"
    assert r.character_ids == ["a1", "a2", "b1"]
    assert r.rightsholder_ids == ["acme", "bolt"]
    assert r.licence_ids == ["L-1"]
    assert [(s.rightsholder, s.character_id, s.licence_id, s.share_rate, s.share) for s in r.shares] == [
        ("acme", "a1", "L-1", 0.1, 0.25),
        ("acme", "a2", "L-1", 0.1, 0.25),
        ("bolt", "b1", None, 0.2, 0.5),
    ]
    assert r.share_of("acme") == 0.5 and r.share_of("bolt") == 0.5 and r.share_of("nobody") == 0
    assert r.to_dict()["recorded_at"] == "2025-03-01T03:00:00.000000Z"


def test_request_id_and_time_defaults():
    ctx_at = datetime(2025, 1, 2, 3, 4, 5)  # naive: taken as UTC
    r = make(decision("d", tag("acme", "a")), CheckContext(request_id="from-ctx", at=ctx_at))
    assert r.request_id == "from-ctx"
    assert r.recorded_at == ctx_at.replace(tzinfo=timezone.utc)
    before = datetime.now(timezone.utc)
    r = make(decision("d", tag("acme", "a")))
    assert r.request_id is None and r.region is None and r.commercial is False
    assert before <= r.recorded_at <= datetime.now(timezone.utc)
    assert make(decision("d", tag("acme", "a")), None, "").request_id is None


def test_duplicate_pairs_are_merged_and_empty_tags_use_matches():
    d = decision(
        "d",
        tag("acme", "a1", rate=0.1, licence="L1"),
        tag("acme", "a1", rate=0.3, licence="L2"),  # same pair again: the first tag's terms are kept
        tag("bolt", rate=0.2),  # a rightsholder-level tag: its matched characters are credited
        matches=[match("b1", "bolt"), match("b2", "bolt"), match("a1", "acme")],
    )
    r = make(d)
    assert [(s.rightsholder, s.character_id, s.licence_id) for s in r.shares] == [
        ("acme", "a1", "L1"), ("bolt", "b1", None), ("bolt", "b2", None)]
    assert math.isclose(sum(s.share for s in r.shares), 1.0)
    r = make(decision("d", tag("bolt", rate=0.2)))  # nothing matched: one rightsholder-level line
    assert [(s.rightsholder, s.character_id, s.share) for s in r.shares] == [("bolt", "", 1.0)]


def test_tag_decision_without_tags_is_recorded_from_its_matches():
    d = decision("d", action="tag", matches=[match("a1", "acme"), match("x", None), match("z", "zeta", action="allow")])
    r = make(d)
    assert [(s.rightsholder, s.character_id, s.share_rate) for s in r.shares] == [("acme", "a1", 0.0), (UNATTRIBUTED, "x", 0.0)]
    r = make(decision("d", action="tag"))
    assert [(s.rightsholder, s.character_id, s.share) for s in r.shares] == [(UNATTRIBUTED, "", 1.0)]


@pytest.mark.parametrize("rate", [-0.1, float("nan"), float("inf")])
def test_bad_share_rate_is_refused(rate):
    with pytest.raises(ValueError, match="share_rate"):
        make(decision("d", tag("acme", "a", rate=rate)))


def test_nul_characters_are_refused():
    with pytest.raises(ValueError, match="NUL"):
        make(decision("d", tag("acme", "a\x00b")))
    with pytest.raises(ValueError, match="NUL"):
        make(decision("d", tag("acme", "a")), None, "req\x00")
    with pytest.raises(ValueError, match="decision_id"):
        make(decision("", tag("acme", "a")))
