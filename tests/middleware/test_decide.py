"""How several prompt strings become one decision, and how a rewrite is mapped back onto them."""
from __future__ import annotations

import uuid

from guard.models import Decision, Rejection
from middleware.decide import decide
from middleware.problem import decision_headers, header_value


def decision(prompt: str, action: str, new: str | None = None, rejections=()) -> Decision:
    return Decision(decision_id=uuid.uuid4().hex, action=action, prompt=new if new is not None else prompt,
                    original_prompt=prompt, rejections=list(rejections))


class Scripted:
    """An engine whose answer per exact prompt is scripted; anything else is allowed."""

    def __init__(self, answers: dict) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def check(self, prompt, context=None):
        self.calls.append(prompt)
        action, new = self.answers.get(prompt, ("allow", None))
        rejections = [Rejection(code="no", message="no")] if action == "reject" else []
        return decision(prompt, action, new, rejections)


def test_single_prompt_one_check():
    engine = Scripted({"a": ("rewrite", "b")})
    d, parts = decide(engine, ["a"], None)
    assert (d.action, parts, engine.calls) == ("rewrite", ["b"], ["a"])


def test_joined_rewrite_is_split_back_in_one_check():
    engine = Scripted({"x Pikachu\n\ny": ("rewrite", "x mouse\n\ny")})
    d, parts = decide(engine, ["x Pikachu", "y"], None)
    assert parts == ["x mouse", "y"] and engine.calls == ["x Pikachu\n\ny"]


def test_allow_and_reject_of_the_whole_need_one_check():
    engine = Scripted({"a\n\nb": ("reject", None)})
    d, parts = decide(engine, ["a", "b"], None)
    assert d.action == "reject" and parts is None and len(engine.calls) == 1


def test_rewrite_that_moves_separators_falls_back_to_each_string():
    engine = Scripted({"a\n\nb": ("rewrite", "a b"), "a": ("rewrite", "A"), "b": ("allow", None)})
    d, parts = decide(engine, ["a", "b"], None)
    assert parts == ["A", "b"] and d.prompt == "A\n\nb" and d.action == "rewrite"
    assert engine.calls == ["a\n\nb", "a", "b"]


def test_fallback_rejects_when_a_string_alone_is_rejected():
    engine = Scripted({"a\n\nb": ("rewrite", "ab"), "a": ("rewrite", "A"), "b": ("reject", None)})
    d, parts = decide(engine, ["a", "b"], None)
    assert d.action == "reject" and parts is None and d.rejections[-1].code == "no"


def test_unmappable_rewrite_is_rejected():
    engine = Scripted({"a\n\nb": ("rewrite", "something else entirely")})
    d, parts = decide(engine, ["a", "b"], None)
    assert d.action == "reject" and parts is None
    assert d.rejections[-1].code == "unmappable-rewrite"


def test_unsafe_separator_goes_straight_to_each_string():
    engine = Scripted({"a\n\n\n\nb": ("rewrite", "a\n\n\n\nB"), "a\n": ("allow", None), "\nb": ("rewrite", "\nB")})
    d, parts = decide(engine, ["a\n", "\nb"], None)
    assert parts == ["a\n", "\nB"]


def test_header_values_are_visible_ascii():
    assert header_value("pokemon/pikachu") == b"pokemon/pikachu"
    assert header_value("ポケモン/ピカチュウ") == b"%E3%83%9D%E3%82%B1%E3%83%A2%E3%83%B3/%E3%83%94%E3%82%AB%E3%83%81%E3%83%A5%E3%82%A6"
    assert header_value("a b\r\nX-Evil: 1") == b"a%20b%0D%0AX-Evil:%201"
    d = decision("x", "allow")
    assert dict(decision_headers(d))[b"x-guard-action"] == b"allow"
    assert decision_headers(None) == [(b"x-guard-action", b"unchecked")]


def test_decision_headers_encode_ids_from_any_engine():
    from guard.models import MatchDecision
    from middleware import problem

    def with_ids(decision_id, character_ids):
        matches = [MatchDecision(character_id=c, franchise="f", rightsholder=None, start=0, end=1, surface="x", alias="x",
                                 method="exact", score=1.0, action="allow", rule="r", reason="why") for c in character_ids]
        return decision("x", "allow").model_copy(update={"decision_id": decision_id, "matches": matches})

    plain = dict(decision_headers(with_ids("0123abcdef", ["pokemon/pikachu", "pokemon/eevee"])))
    assert plain[b"x-guard-decision-id"] == b"0123abcdef"
    assert plain[b"x-guard-characters"] == b"pokemon/eevee,pokemon/pikachu"
    for ids, value in [([], b""), (["pokemon/pikachu"], b"pokemon/pikachu"), (["pokemon/pikachu"] * 2, b"pokemon/pikachu"),
                       (["ポケモン/ピカチュウ"], header_value("ポケモン/ピカチュウ"))]:
        d = with_ids("0123abcdef", ids)
        assert d.characters == sorted(set(ids))
        assert dict(decision_headers(d))[b"x-guard-characters"] == value
    # a custom engine's ids: the same encoding as header_value, and the same on a second call (remembered)
    odd_ids = ["ポケモン/ピカチュウ", "a b\r\nX-Evil: 1"]
    for _ in range(2):
        odd = dict(decision_headers(with_ids("ïd 1\r\n", odd_ids)))
        assert odd[b"x-guard-decision-id"] == header_value("ïd 1\r\n") == b"%C3%AFd%201%0D%0A"
        assert odd[b"x-guard-characters"] == b",".join(header_value(c) for c in sorted(odd_ids))
    # the memory of character values is bounded
    for i in range(problem._CHARACTER_VALUES_MAX + 10):
        problem._character_value(f"franchise/c{i}")
    assert len(problem._CHARACTER_VALUES) <= problem._CHARACTER_VALUES_MAX
    problem._CHARACTER_VALUES.clear()
