"""`parse_json` takes orjson's document only where it is the strict json-module parse's; `dump_json` writes
what `json.dumps` would have meant. Both are compared with the json module here, on chosen and generated bodies."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from middleware.jsonbody import _NOT_PROVEN, BodyError, _orjson_document, _parse_strict, dump_json, parse_json


def outcome(parse, raw: bytes, **kw):
    try:
        return ("doc", parse(raw, **kw))
    except BodyError as exc:
        return ("error", exc.status, exc.code)


def same_document(a, b) -> bool:
    """Equal, with the same types all the way down (1 and 1.0 and True differ), and -0.0 apart from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_document(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_document(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def assert_same_as_strict(raw: bytes, reject_duplicate_keys: bool = True, max_depth: int = 64) -> None:
    fast = outcome(parse_json, raw, reject_duplicate_keys=reject_duplicate_keys, max_depth=max_depth)
    strict = outcome(lambda r, **kw: _parse_strict(r, max_depth, reject_duplicate_keys), raw)
    if strict[0] == "doc":
        assert fast[0] == "doc", (raw, fast)
        assert same_document(fast[1], strict[1]), (raw, fast[1], strict[1])
    else:
        assert fast == strict, raw


BODIES = [
    b'{"prompt": "Pikachu surfing", "n": 1, "size": "1024x1024"}',
    b'{"prompt": "a: b: c", "meta": {"k:1": "v:2", "x": [1, 2.5, -0.0, -0, 1e300, true, null]}}',
    b'{"prompt": "x", "prompt": "y"}',  # duplicate
    b'{"a": {"b": 1, "b": 2}}',  # duplicate, nested
    b'{"a": 1, "a": 2, "b": "\\u003a"}',  # an escaped colon hides a duplicate from the colon count
    b'{"a": "\\u003a", "a": 1}',
    b'{"a\\u003A": 1, "b": 2}',
    b'{"a": 1, "b": "\\u003a"}',
    b'[{"a": 1}, {"a": 1}]',  # the same key in two objects is not a duplicate
    b'{"n": 123456789012345678901234567890}',  # beyond 64 bits: orjson would give a float
    b'{"n": -9223372036854775809, "m": 18446744073709551615}',
    b'{"n": 9223372036854775807, "m": -9223372036854775808}',
    b'{"f": 1e19, "g": 1.5e-320, "h": 0.1, "i": 1E2}',
    b'{"f": 1e999}',
    b'{"f": -1e400}',
    b'{"x": NaN}',
    b'{"x": Infinity}',
    b'\xef\xbb\xbf{"prompt": "x"}',
    b'{"prompt": "\xff"}',
    b'{"prompt": "\xed\xa0\x80"}',
    b'{"prompt": "\\ud800"}',
    b'{"prompt": "\\ud83d\\ude00 ok"}',
    b'',
    b'   ',
    b'{"a": 1,}',
    b'[1, 2',
    b'"just a string: with a colon"',
    b'{"": "", "\\"": "\\\\"}',
    b'{"prompt": "\\u0000 nul"}',
    b'  \n{"prompt" :\t"spaced"}\r\n',
    b"[" * 64 + b"]" * 64,  # as deep as allowed
    b"[" * 65 + b"]" * 65,
    b'{"a":' * 65 + b"1" + b"}" * 65,
    b'{"a":' * 65 + b'1, "a": 2' + b"}" * 65,  # too deep and a duplicate: too deep, as before
    b"[" * 65 + b"NaN" + b"]" * 65,
    b"[" * 65 + b"123456789012345678901234567890" + b"]" * 65,
    b"[" * 2000 + b"]" * 2000,  # beyond orjson's own limit
]


@pytest.mark.parametrize("raw", BODIES)
@pytest.mark.parametrize("reject_duplicate_keys", [True, False])
def test_bodies_parse_as_the_strict_parser_parses_them(raw, reject_duplicate_keys):
    assert_same_as_strict(raw, reject_duplicate_keys)


@pytest.mark.parametrize(
    "raw, max_depth",
    [
        # The earlier value of a repeated key, which orjson drops, is the deepest: with repeated keys allowed,
        # the body is still too deep.
        (b'{"a":[],"a":0}', 1),
        (b'{"p":' + b"[" * 64 + b"]" * 64 + b',"p":"x"}', 64),
        (b'{"p":' + b"[" * 63 + b"]" * 63 + b',"p":"x"}', 64),
        # Beyond what orjson is trusted with: the json module decides, as before (its recursion limit).
        (b"[" * 300 + b"]" * 300, 0),
        (b"[" * 1000 + b"]" * 1000, 0),
        (b"[" * 1010 + b"]" * 1010, 2000),
        (b"[" * 251 + b"1" + b"]" * 251, 260),
        (b"[" * 250 + b"1" + b"]" * 250, 250),
        (b"[" * 251 + b"1" + b"]" * 251, 250),
    ],
)
@pytest.mark.parametrize("reject_duplicate_keys", [True, False])
def test_depth_is_the_bodys_own(raw, max_depth, reject_duplicate_keys):
    assert_same_as_strict(raw, reject_duplicate_keys, max_depth)


def test_depth_of_a_repeated_keys_dropped_value():
    with pytest.raises(BodyError) as info:
        parse_json(b'{"p":' + b"[" * 64 + b"]" * 64 + b',"p":"x"}', reject_duplicate_keys=False)
    assert info.value.code == "json-too-deep"
    assert parse_json(b'{"p":' + b"[" * 63 + b"]" * 63 + b',"p":"x"}', reject_duplicate_keys=False) == {"p": "x"}


def test_negative_depth_is_refused():
    with pytest.raises(ValueError, match="max_depth"):
        parse_json(b"1", max_depth=-1)


def test_deep_documents_are_written_back():
    doc = parse_json(b'{"prompt": "x", "deep": ' + b"[" * 300 + b"]" * 300 + b"}", max_depth=0)
    assert same_document(json.loads(dump_json(doc)), doc)


def test_orjson_is_not_trusted_where_it_would_differ():
    assert _orjson_document(b'{"a": 1, "a": 2}', 64) is _NOT_PROVEN
    assert _orjson_document(b'{"n": 123456789012345678901234567890}', 64) is _NOT_PROVEN
    assert _orjson_document(b'{"a": 1, "a": 2, "b": "\\u003a"}', 64) is _NOT_PROVEN
    assert _orjson_document(b'{"prompt": "p: q", "n": 2}', 64) == {"prompt": "p: q", "n": 2}


def test_errors_name_the_problem():
    with pytest.raises(BodyError, match="repeats the key 'prompt'"):
        parse_json(b'{"prompt": "x", "prompt": "y"}')
    with pytest.raises(BodyError, match="out of range"):
        parse_json(b'{"f": 1e999}')
    with pytest.raises(BodyError, match="byte order mark"):
        parse_json(b'\xef\xbb\xbf{"prompt": "x"}')
    with pytest.raises(BodyError, match="offset 12") as info:
        parse_json(b'{"prompt": "\xff"}')
    assert info.value.code == "invalid-utf8"
    deep = b"[" * 100 + b"\xff" + b"]" * 100
    with pytest.raises(BodyError) as info:
        parse_json(deep, max_depth=64)
    assert info.value.code == "invalid-utf8"
    with pytest.raises(BodyError) as info:
        parse_json(b"[" * 100 + b"]" * 100, max_depth=64)
    assert info.value.code == "json-too-deep"
    with pytest.raises(BodyError) as info:
        parse_json(b"[" * 5000 + b"]" * 5000, max_depth=0)
    assert info.value.code == "json-too-deep"


# Generated documents, written with the json module and then perturbed so that keys repeat and colons sit in
# strings and in escapes.
json_keys = st.text(alphabet=st.sampled_from("ab:\\\"\u00e9\u30d4 "), max_size=4)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.sampled_from("ab: \\\"\u00e9\u30d4\U0001f600\n"), max_size=8),
)
json_docs = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(json_keys, children, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(json_docs, st.booleans(), st.booleans(), st.integers(min_value=0, max_value=4), st.sampled_from([64, 0, 1, 2, 3]))
@example({"a": 1}, False, True, 4, 64)
@example({"k:": [1], "b": "c"}, True, True, 2, 64)
@example({"a": [[]]}, True, False, 1, 2)
def test_generated_bodies_parse_as_the_strict_parser_parses_them(doc, ensure_ascii, reject_duplicate_keys, duplicate, max_depth):
    raw = json.dumps(doc, ensure_ascii=ensure_ascii).encode("utf-8")
    if duplicate and isinstance(doc, dict) and doc:
        # Repeat one member: the first key written again at the end of the object. The last value is kept, so
        # with duplicate=4 its escaped colon makes up for the repeated key's colon in a count of colons.
        key = json.dumps(next(iter(doc)), ensure_ascii=ensure_ascii).encode("utf-8")
        if duplicate == 2:
            key = key.replace(b":", b"\\u003a")
        value = {3: b'"x:y"', 4: b'"\\u003a"'}.get(duplicate, b"1")
        raw = raw[:-1] + b", " + key + b": " + value + b"}"

    assert_same_as_strict(raw, reject_duplicate_keys, max_depth)


@settings(max_examples=300, deadline=None)
@given(json_docs)
def test_dump_json_writes_the_same_document(doc):
    out = dump_json(doc)
    assert same_document(json.loads(out), doc)
    reference = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    assert same_document(json.loads(out), json.loads(reference))


def test_dump_json_falls_back_where_orjson_refuses():
    assert json.loads(dump_json({"n": 2**80})) == {"n": 2**80}
    assert dump_json({"p": "\ud800"}) == b'{"p":"\\ud800"}'
    assert dump_json({"p": "ピカチュウ"}) == '{"p":"ピカチュウ"}'.encode()
