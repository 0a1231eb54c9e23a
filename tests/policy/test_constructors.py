"""The policy engine's direct constructors of its pydantic output models (guard.policy.engine._direct_constructor):
what they build behaves as what `model_construct` builds, on every use a caller may make of a decision."""
from __future__ import annotations

import copy
import pickle

import pytest

from guard.models import Decision, MatchDecision, RevenueTag
from guard.policy import engine

MD = dict(engine._MD_SAMPLE)
TAG = dict(rightsholder="The Pokémon Company", character_ids=["pokemon/pikachu"], share_rate=0.1, licence_id="lic-1")


def _decision_fields(md_factory):
    return dict(decision_id="0" * 32, action="tag", prompt="p", original_prompt="p", matches=[md_factory(**MD)],
                tags=[], rejections=[], themes=["violence"], policy_version="v", elapsed_ms=0.5)


@pytest.mark.parametrize("model, fields", [(MatchDecision, MD), (RevenueTag, TAG)])
def test_direct_construction_equals_model_construct(model, fields):
    fast = engine._direct_constructor(model)(**fields)
    ref = model.model_construct(**fields)
    assert type(fast) is model
    assert fast == ref and repr(fast) == repr(ref)
    assert fast.model_dump() == ref.model_dump() and fast.model_dump_json() == ref.model_dump_json()
    assert fast.model_fields_set == ref.model_fields_set == set(fields)
    assert pickle.loads(pickle.dumps(fast)) == ref
    assert copy.deepcopy(fast) == ref and copy.copy(fast) == ref
    assert fast.model_copy(update={}) == ref


def test_instances_do_not_share_their_fields_set():
    make = engine._direct_constructor(MatchDecision)
    a, b = make(**MD), make(**MD)
    assert a.__pydantic_fields_set__ is not b.__pydantic_fields_set__
    a.__pydantic_fields_set__.discard("replacement")
    assert "replacement" in b.model_fields_set


def test_a_decision_built_directly_can_be_changed_as_the_engine_changes_it():
    make = engine._direct_constructor(MatchDecision)
    fast, ref = make(**MD), MatchDecision.model_construct(**MD)
    fast.replacement = ref.replacement = "a yellow mouse"  # what a rewrite round does to a reported match
    assert fast == ref and fast.model_dump_json() == ref.model_dump_json()
    decision = engine._direct_constructor(Decision)(**_decision_fields(make))
    assert decision == Decision.model_construct(**_decision_fields(MatchDecision.model_construct))
    assert Decision.model_validate_json(decision.model_dump_json()) == decision
    changed = decision.model_copy(update={"action": "reject"})
    assert changed.action == "reject" and decision.action == "tag"


def test_a_partial_field_list_records_only_those_fields():
    partial = {k: v for k, v in MD.items() if k != "replacement"}
    fast = engine._direct_constructor(MatchDecision)(**partial)
    assert fast.model_fields_set == set(partial) == MatchDecision.model_construct(**partial).model_fields_set


def test_the_engine_uses_the_direct_constructors():
    # Checked at import against model_construct; with this pydantic they agree, so the fast path is in use.
    for made in (engine._new_match_decision, engine._new_revenue_tag, engine._new_decision):
        assert made.__name__ == "construct"
