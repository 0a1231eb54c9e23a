"""The engine remembers verdicts per character and facts: a warm engine must decide exactly as a fresh one."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from guard.policy import PolicyEngine
from guard.policy import engine as engine_module

from .helpers import fake_scan, mk
from .test_examples import CASES

UTC = timezone.utc


def _decide(eng: PolicyEngine, prompt: str, context: dict):
    context = {"at": datetime(2026, 1, 15, 12, tzinfo=UTC), **context}
    return eng.decide(prompt, fake_scan(prompt), context, rescan=fake_scan)


def _comparable(decision) -> dict:
    d = decision.model_dump()
    for volatile in ("decision_id", "elapsed_ms"):
        d.pop(volatile)
    return d


def test_a_warm_engine_decides_like_a_fresh_one_in_any_order():
    warm = PolicyEngine.default()
    cases = [(p, c) for p, c, *_ in CASES] * 3
    random.Random(4).shuffle(cases)
    for prompt, context in cases:
        fresh = PolicyEngine.default()
        assert _comparable(_decide(warm, prompt, context)) == _comparable(_decide(fresh, prompt, context)), prompt
    assert warm._verdicts, "the verdicts were not remembered"


def test_licence_boundaries_are_respected_by_remembered_verdicts(engine_from):
    eng = engine_from("""
        default:
          rules:
            - {id: licensed, action: tag, licence: L-COM}
            - {id: expired, when: {licence_inactive: L-COM}, action: reject, code: licence_expired}
    """)
    end = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)  # L-COM ends with 2026-12-31
    prompt = "Pikachu"
    match = [mk(prompt, "Pikachu", "pokemon/pikachu")]
    for at, rule in [
        (end - timedelta(hours=1), "licensed"),
        (end, "licensed"),  # inclusive end
        (end + timedelta(microseconds=1), "expired"),
        (end - timedelta(seconds=1), "licensed"),  # back inside, from the memo
        (end + timedelta(days=1), "expired"),
    ]:
        d = eng.decide(prompt, match, {"at": at})
        assert d.matches[0].rule == f"tpc-test:default#{rule}", at
        # the date in the explanation is the request's, not the one remembered first
        if rule == "licensed":
            assert d.tags and d.tags[0].licence_id == "L-COM"


def test_explanations_name_each_requests_theme_evidence(engine_from):
    eng = engine_from("""
        default:
          rules:
            - {id: violent, when: {themes: {any: [violence]}}, action: reject, code: violent}
            - {id: ok, action: allow}
    """)
    first = "Pikachu in a bloody fight"
    second = "Pikachu in a gory fight"
    d1 = eng.decide(first, [mk(first, "Pikachu", "pokemon/pikachu")], {})
    d2 = eng.decide(second, [mk(second, "Pikachu", "pokemon/pikachu")], {})
    assert d1.action == d2.action == "reject"
    assert "bloody" in d1.matches[0].reason and "gory" in d2.matches[0].reason


def test_the_memo_is_bounded(engine_from, monkeypatch):
    monkeypatch.setattr(engine_module, "_VERDICT_MEMO_SIZE", 5)
    eng = engine_from("""
        default:
          rules:
            - {id: jp, when: {region: {include: [JP]}}, action: tag, licence: L-PREMIUM}
            - {id: ok, action: allow}
    """)
    prompt = "Pikachu"
    match = [mk(prompt, "Pikachu", "pokemon/pikachu")]
    for region in ["JP", "FR", "DE", "US", "GB", "IT", "ES", "KR", "JP"]:
        d = eng.decide(prompt, match, {"region": region})
        assert d.action == ("tag" if region == "JP" else "allow")
        assert len(eng._verdicts) <= 5


@pytest.mark.parametrize("commercial", [False, True])
def test_context_fields_are_part_of_the_key(engine_from, commercial):
    eng = engine_from("""
        default:
          rules:
            - {id: com, when: {use: commercial}, action: reject, code: no_commercial}
            - {id: ok, action: allow}
    """)
    prompt = "Pikachu"
    match = [mk(prompt, "Pikachu", "pokemon/pikachu")]
    eng.decide(prompt, match, {"commercial": not commercial})  # warm the memo with the other answer
    d = eng.decide(prompt, match, {"commercial": commercial})
    assert d.action == ("reject" if commercial else "allow")
