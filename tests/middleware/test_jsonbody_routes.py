"""Units: strict JSON parsing with limits, JSON pointers with wildcards, route patterns."""
from __future__ import annotations

import json

import pytest

from middleware.jsonbody import BodyError, JsonPointer, PromptLocator, dump_json, json_depth, parse_json
from middleware.routes import compile_path_pattern, normalize_path


@pytest.mark.parametrize(
    "raw, depth",
    [
        (b"1", 0),
        (b'"[[[{{{"', 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": "]]]"}]}', 3),
        (b'[[], [[]], "\\"[[[[["]', 3),
        (b'{"a": "\\\\", "b": [[["x"]]]}', 4),
    ],
)
def test_json_depth_ignores_brackets_in_strings(raw, depth):
    assert json_depth(raw) == depth


def test_parse_json_limits():
    assert parse_json(b'{"a": [[1]]}', max_depth=3) == {"a": [[1]]}
    with pytest.raises(BodyError) as exc:
        parse_json(b'{"a": [[1]]}', max_depth=2)
    assert exc.value.status == 400 and exc.value.code == "json-too-deep"
    # the limit can be lifted; then Python's own recursion guard still answers cleanly
    with pytest.raises(BodyError) as exc:
        parse_json(b"[" * 100_000 + b"]" * 100_000, max_depth=0)
    assert exc.value.code == "json-too-deep"
    assert parse_json(b'{"a": 1, "a": 2}', reject_duplicate_keys=False) == {"a": 2}
    for bad in (b"Infinity", b"[-Infinity]", b"NaN"):
        with pytest.raises(BodyError):
            parse_json(bad)


def test_dump_json_keeps_utf8_and_escapes_lone_surrogates():
    assert dump_json({"p": "ü"}) == '{"p":"ü"}'.encode()
    assert dump_json({"p": "\ud800"}) == b'{"p":"\\ud800"}'


def test_pointer_parsing_and_escapes():
    assert JsonPointer.parse("").tokens == ()
    assert JsonPointer.parse("/a~1b/c~0d/*").tokens == ("a/b", "c~d", "*")
    for bad in ("a", "/a~2"):
        with pytest.raises(ValueError):
            JsonPointer.parse(bad)


def test_pointer_resolution():
    doc = {"messages": [{"content": "one"}, {"content": "two"}, {"x": 1}], "a/b": {"0": "zero"}, "list": ["l0", "l1"]}
    assert JsonPointer.parse("/messages/*/content").resolve(doc) == [(("messages", 0, "content"), "one"), (("messages", 1, "content"), "two")]
    assert JsonPointer.parse("/a~1b/0").resolve(doc) == [(("a/b", "0"), "zero")]
    assert JsonPointer.parse("/list/1").resolve(doc) == [(("list", 1), "l1")]
    assert JsonPointer.parse("/list/01").resolve(doc) == []
    assert JsonPointer.parse("/list/5").resolve(doc) == []
    assert JsonPointer.parse("/missing/*").resolve(doc) == []
    assert JsonPointer.parse("").resolve("whole") == [((), "whole")]


def test_locator_collects_strings_under_containers_in_document_order():
    doc = {"b": {"x": "bx", "n": 3, "y": ["by0", None]}, "a": "a-value"}
    loc = PromptLocator.from_strings(["/a", "/b"])
    assert loc.locate(doc) == [(("b", "x"), "bx"), (("b", "y", 0), "by0"), (("a",), "a-value")]
    narrowed = PromptLocator.from_strings(["/b", "/b/x"])
    assert narrowed.locate(doc) == [(("b", "x"), "bx")]


def test_locator_scales_linearly_with_many_members():
    doc = {f"k{i}": f"v{i}" for i in range(50_000)}
    loc = PromptLocator.from_strings(["/*", "/k7"])
    hits = loc.locate(doc)
    assert len(hits) == 50_000 and hits[0] == (("k0",), "v0")


@pytest.mark.parametrize(
    "pattern, yes, no",
    [
        ("/v1/images/generations", ["/v1/images/generations", "/v1/images/generations/", "/V1/Images/Generations"], ["/v1/images", "/v1/images/generations/x"]),
        ("/v1/*/generate", ["/v1/sdxl/generate"], ["/v1/generate", "/v1/a/b/generate"]),
        ("/v1/{model}/generate", ["/v1/sdxl/generate"], ["/v1/generate"]),
        ("/v1/**", ["/v1", "/v1/a", "/v1/a/b/c"], ["/v2/a"]),
        ("/v1/{rest:path}", ["/v1/a/b"], ["/v2"]),
        ("/v1/gen-*", ["/v1/gen-image", "/v1/gen-"], ["/v1/other"]),
        ("/**", ["/", "/anything/at/all"], []),
    ],
)
def test_path_patterns(pattern, yes, no):
    regex = compile_path_pattern(pattern)
    for path in yes:
        assert regex.fullmatch(normalize_path(path)), path
    for path in no:
        assert not regex.fullmatch(normalize_path(path)), path


def test_path_normalization():
    assert normalize_path("//v1//images/./x/../y/") == "/v1/images/y"
    assert normalize_path("") == "/"
    assert normalize_path("/../../etc") == "/etc"
    assert json.dumps(normalize_path("/a%2Fb")) == '"/a%2Fb"'


def test_paths_already_normal_take_the_short_way_to_the_same_result():
    import posixpath
    import random
    import re

    def reference(path: str) -> str:  # the full normalization, with no shortcut
        if not path:
            return "/"
        path = re.sub(r";[^/]*", "", path)
        norm = posixpath.normpath(path)
        if norm.startswith("//"):
            norm = "/" + norm.lstrip("/")
        return norm if norm.startswith("/") else "/" + norm

    r = random.Random(3)
    paths = ["/", "/v1/generate", "/v1/generate/", "v1/x", "/.", "/a/.b", "/a..b", "/a;v=1/b", "///", "/a/b/.."]
    paths += ["".join(r.choice("/.;ab=") for _ in range(r.randint(1, 12))) for _ in range(20000)]
    for path in paths:
        assert normalize_path(path) == reference(path), path


@pytest.mark.parametrize(
    "doc",
    [
        {"prompt": "Pikachu surfing", "n": 1},
        {"prompt": ["a", {"x": "b"}, 3]},
        {"prompt": {"text": "Eevee", "weight": 2}},
        {"prompt": 5},
        {"prompt": None},
        {"other": "x"},
        ["prompt", "x"],
        "prompt",
        {"prompt": "ピカチュウ\ud800"},
    ],
)
def test_one_member_pointer_locates_like_the_general_walk(doc):
    single = PromptLocator.from_strings(["/prompt"])
    general = PromptLocator.from_strings(["/prompt", "/prompt"])  # two pointers: never the one-member shortcut
    assert single.locate(doc) == general.locate(doc)



def test_a_hash_in_the_path_is_part_of_it():
    """scope["path"] is percent-decoded: a "#" there is a %23 of the path, which the app routes on as it is
    (`/v1/sd%23x/generate` is the model "sd#x"), so the guard must match it as it is too."""
    regex = compile_path_pattern("/v1/{model}/generate")
    assert normalize_path("/v1/sd#x/generate") == "/v1/sd#x/generate"
    assert regex.fullmatch(normalize_path("/v1/sd#x/generate"))
