"""Reading policy and theme files: validation, cross-references, and the content hash that versions them.

Every error is a `guard.errors.PolicyError` naming the file, the line and the field, whether it comes from
YAML syntax, from the pydantic schema, or from a check that spans fields (an action's required fields, a
licence or theme that does not exist, a rightsholder with two policies).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union

from guard.errors import PolicyError
from guard.policy.schema import Conditions, PolicyFile, Rule, ThemeFile
from guard.policy.themes import merge_theme_maps
from guard.yamlio import _line_of, load_yaml, read_text, validate

PathLike = Union[str, Path]
KINDS = ("policy", "themes")
_DATE_LIKE = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b")


def bundled_dir() -> Path:
    """The bundled `policies/` folder: next to the package in a checkout, else the installed `policies` package."""
    here = Path(__file__).resolve().parents[2] / "policies"
    if here.is_dir():
        return here
    try:  # installed wheel: `policies` is a top-level data package
        from importlib.resources import files

        return Path(str(files("policies")))
    except Exception:  # pragma: no cover
        return here


def bundled_themes_path() -> Path:
    return bundled_dir() / "themes.yaml"


def expand_paths(paths: Iterable[PathLike]) -> list[Path]:
    """Files as given; a directory stands for its *.yaml / *.yml files (sorted)."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(q for q in path.iterdir() if q.suffix in (".yaml", ".yml") and q.is_file()))
        else:
            out.append(path)
    return out


@dataclass
class LoadedFiles:
    policies: list[tuple[Path, PolicyFile]] = field(default_factory=list)
    themes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    digest: str = ""


def _fail(path: Path, text: str, loc: tuple, message: str) -> PolicyError:
    return PolicyError(str(path), message, line=_line_of(text, loc), field=".".join(str(p) for p in loc) or None)


def read_file(path: Path) -> tuple[str, Union[PolicyFile, ThemeFile], str]:
    """(kind, model, text) of one file."""
    try:
        data = load_yaml(path, PolicyError)
    except ValueError as exc:
        if isinstance(exc, PolicyError):
            raise
        # The YAML loader builds dates itself and raises a bare ValueError for 2026-13-45: find the line.
        text = read_text(path, PolicyError)
        line = None
        for i, row in enumerate(text.splitlines(), 1):
            for token in _DATE_LIKE.findall(row):
                try:
                    date.fromisoformat(token)
                except ValueError:
                    line = line or i
        bad = _DATE_LIKE.findall(text.splitlines()[line - 1]) if line else []
        what = f" {bad[0]!r}" if bad else ""
        raise PolicyError(str(path), f"invalid date{what}: {exc}", line=line) from None
    if data is None:
        raise PolicyError(str(path), "file is empty")
    text = read_text(path, PolicyError)
    if not isinstance(data, dict):
        raise PolicyError(str(path), "the top level must be a mapping (kind: policy or kind: themes)", line=1)
    kind = data.get("kind")
    if kind not in KINDS:
        if kind is None:
            raise PolicyError(str(path), "field required: say `kind: policy` or `kind: themes`", field="kind")
        raise _fail(path, text, ("kind",), f"must be 'policy' or 'themes', not {kind!r}")
    model = validate(PolicyFile if kind == "policy" else ThemeFile, data, path, PolicyError)
    return kind, model, text


def _rule_checks(rule: Rule, loc: tuple, policy: PolicyFile, themes: set[str]) -> Iterable[tuple[tuple, str]]:
    a = rule.action
    forbidden = {
        "allow": ("licence", "share_rate", "rewrite", "code", "message"),
        "tag": ("rewrite", "code", "message"),
        "rewrite": ("licence", "share_rate", "code", "message"),
        "reject": ("licence", "share_rate", "rewrite"),
    }[a]
    for name in forbidden:
        if getattr(rule, name) is not None:
            yield loc + (name,), f"not allowed with action {a}"
    if a == "tag" and rule.licence is None and rule.share_rate is None:
        yield loc + ("action",), "action tag needs a licence (with its share rate) or a share_rate"
    if a == "reject" and rule.code is None:
        yield loc + ("action",), "action reject needs a code (the reason code, e.g. prohibited_theme)"
    if rule.licence is not None and rule.licence not in policy.licences:
        known = ", ".join(sorted(policy.licences)) or "none defined"
        yield loc + ("licence",), f"unknown licence {rule.licence!r} (licences: {known})"
    for part in ("when", "unless"):
        cond: Optional[Conditions] = getattr(rule, part)
        if cond is None:
            continue
        if part == "unless" and cond.is_empty():
            yield loc + (part,), "empty condition: it would always hold and the rule would never fire"
        if cond.themes is not None:
            for key in ("any", "all", "none"):
                for i, t in enumerate(getattr(cond.themes, key)):
                    if t not in themes:
                        yield loc + (part, "themes", key, i), (
                            f"unknown theme {t!r} (themes: {', '.join(sorted(themes))})"
                        )
        for name in ("licence_active", "licence_inactive"):
            lid = getattr(cond, name)
            if lid is not None and lid not in policy.licences:
                known = ", ".join(sorted(policy.licences)) or "none defined"
                yield loc + (part, name), f"unknown licence {lid!r} (licences: {known})"


def _rule_locs(policy: PolicyFile) -> Iterable[tuple[tuple, list[Rule]]]:
    yield ("always", "rules"), policy.always.rules
    yield ("default", "rules"), policy.default.rules
    for fid, scope in policy.franchises.items():
        yield ("franchises", fid, "rules"), scope.rules
    for cid, scope in policy.characters.items():
        yield ("characters", cid, "rules"), scope.rules
    for tid, scope in policy.titles.items():
        yield ("titles", tid, "rules"), scope.rules


def check_policy(path: Path, text: str, policy: PolicyFile, themes: set[str]) -> None:
    """Checks that span fields or files. Raises PolicyError at the first problem."""
    for loc, rules in _rule_locs(policy):
        seen: set[str] = set()
        for i, rule in enumerate(rules):
            if rule.id is not None:
                if rule.id in seen:
                    raise _fail(path, text, loc + (i, "id"), f"rule id {rule.id!r} appears twice in this scope")
                seen.add(rule.id)
            for where, message in _rule_checks(rule, loc + (i,), policy, themes):
                raise _fail(path, text, where, message)


def load_files(paths: Sequence[PathLike], *, bundled_themes: bool = True) -> LoadedFiles:
    """Read and check policy and theme files (directories expand to their YAML files)."""
    files = expand_paths(paths)
    parsed: list[tuple[Path, str, Any, str]] = []
    for path in files:
        kind, model, text = read_file(path)
        parsed.append((path, kind, model, text))
    theme_files = [m for _, k, m, _ in parsed if k == "themes"]
    theme_maps = []
    replace = any(t.replace for t in theme_files)
    bundled = bundled_themes_path()
    given = {p.resolve() for p, k, _, _ in parsed if k == "themes"}
    extra_files: list[Path] = []
    if bundled_themes and not replace and bundled.resolve() not in given and bundled.exists():
        _, model, _ = read_file(bundled)
        theme_maps.append(model.themes)
        extra_files.append(bundled)
    theme_maps.extend(t.themes for t in theme_files)
    themes = merge_theme_maps(theme_maps)
    names = set(themes)

    out = LoadedFiles(themes=themes, files=files + extra_files)
    by_holder: dict[str, Path] = {}
    by_id: dict[str, Path] = {}
    for path, kind, model, text in parsed:
        if kind != "policy":
            continue
        check_policy(path, text, model, names)
        key = model.rightsholder.casefold()
        if key in by_holder:
            raise _fail(path, text, ("rightsholder",),
                        f"{model.rightsholder!r} already has a policy in {by_holder[key]} (one file per rightsholder)")
        if model.id in by_id:
            raise _fail(path, text, ("id",), f"policy id {model.id!r} is already used by {by_id[model.id]}")
        by_holder[key] = path
        by_id[model.id] = path
        out.policies.append((path, model))

    h = hashlib.sha256()
    for digest in sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in out.files):
        h.update(digest.encode())
    out.digest = h.hexdigest()
    return out
