"""The policy engine: turns a prompt's character matches into a Decision.

Built once from policy and theme files; immutable afterwards. `decide` does no I/O and compiles nothing: one
normalization (or the caller's), one Aho-Corasick pass for themes, and for each character a walk down its
precompiled rule chain (the policy's `always` rules, then the character's, the franchise's and the default
rules; the first rule whose conditions hold fires).

Opt-in: a character whose rightsholder has no policy, whose policy (or franchise or character scope) says
`opted_in: false`, or for which no rule fires gets `unknown_action` (reject unless configured otherwise).

Several characters: each mention is judged, the prompt's action is the most severe one (reject > rewrite >
tag > allow). A rewrite edits the original text at the match offsets, re-scans it, and judges the new matches
again, up to `max_rounds` times; a prompt that still holds a mention to reject or rewrite is rejected.

Titles (works, `Match.method == "title"`, passed as `titles=`): a title linked to a franchise of a rightsholder
with a policy is judged by that policy's `titles.<id>` rules, then its `titles."*"` rules. Titles are not
opt-in: a title that no rule fires for is allowed and left out of the decision. Title verdicts are combined
with the characters' ones (same severity order, same rewrite loop). Titles do not count as crossovers.
"""
from __future__ import annotations

import os
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from guard.models import (
    ACTION_SEVERITY, DEFAULT_CONTEXT, CheckContext, Decision, Match, MatchDecision, Rejection, RevenueTag, slot_setter,
)
from guard.normalize import Normalizer, normalize
from guard.policy import lang as langmod
from guard.policy.loader import LoadedFiles, bundled_dir, load_files
from guard.policy.messages import BUILTIN_GENERIC, BUILTIN_MESSAGES, BUILTIN_TITLE_GENERIC, _s2t, pick_lang
from guard.policy.rewrite import Edit, apply_edits
from guard.policy.schema import ANY_TITLE, Conditions, Licence, Phrase, PolicyFile, Rule
from guard.policy.themes import ThemeHit, ThemeLexicon, evidence
from guard.spans import SpanIndex

UNKNOWN_ACTIONS = ("reject", "rewrite", "tag", "allow")


_ID_BATCH = 256
_ids: list[str] = []  # random UUID4s not handed out yet, drawn from os.urandom a batch at a time


def _draw_ids() -> list[str]:
    raw = bytearray(os.urandom(16 * _ID_BATCH))
    for i in range(0, len(raw), 16):
        raw[i + 6] = (raw[i + 6] & 0x0F) | 0x40
        raw[i + 8] = (raw[i + 8] & 0x3F) | 0x80
    text = raw.hex()
    return [text[i : i + 32] for i in range(0, len(text), 32)]


def new_decision_id() -> str:
    """A random UUID4 as 32 hex digits (like uuid.uuid4().hex). One getrandom system call per 256 ids: in a
    busy server a call per decision cost a few microseconds. list.pop is atomic, so threads never share an
    id, and a forked child drops the ids it inherited (`_forget_ids`, run by os.fork, multiprocessing and
    servers that fork workers through Python) instead of repeating its parent's."""
    try:
        return _ids.pop()
    except IndexError:  # keep one id of the new batch: other threads may empty the pool before a second pop
        batch = _draw_ids()
        mine = batch.pop()
        _ids.extend(batch)
        return mine


def _forget_ids() -> None:
    _ids.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_ids)


def _direct_constructor(model: type) -> Callable[..., Any]:
    """A constructor without validation for the hot path, where every value is built here and well typed.
    Callers pass every field.

    pydantic's `model_construct` costs about 5 µs and validation more; filling the instance's four slots
    through their descriptors costs about 1 µs. The direct way relies on pydantic internals, so it is checked
    once at import against `model_construct` and replaced by it if the two disagree.
    """
    new = object.__new__
    slots = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
    setters = [slot_setter(model, name) for name in slots]
    if None in setters:  # another pydantic's internals: _checked_constructor falls back to model_construct
        raise LookupError(f"{model.__name__} does not keep its fields in slots")
    set_dict, set_fields_set, set_extra, set_private = setters

    def construct(**fields: Any) -> Any:
        obj = new(model)
        set_dict(obj, fields)
        set_fields_set(obj, set(fields))
        set_extra(obj, None)
        set_private(obj, None)
        return obj

    return construct


def _checked_constructor(model: type, sample: dict) -> Callable[..., Any]:
    try:
        fast = _direct_constructor(model)(**dict(sample))
        ref = model.model_construct(**dict(sample))
        if fast.model_dump_json() == ref.model_dump_json() and fast == ref and repr(fast) == repr(ref):
            return _direct_constructor(model)
    except Exception:  # pragma: no cover - a pydantic version with other internals
        pass
    return model.model_construct  # pragma: no cover


_MD_SAMPLE = dict(character_id="pokemon/pikachu", franchise="pokemon", rightsholder="x", start=0, end=7,
                  surface="Pikachu", alias="Pikachu", method="exact", score=1.0, action="allow", rule="r", reason="why",
                  replacement=None, round=0)
_new_match_decision = _checked_constructor(MatchDecision, _MD_SAMPLE)
_new_revenue_tag = _checked_constructor(RevenueTag, dict(rightsholder="x", character_ids=["pokemon/pikachu"],
                                                         share_rate=0.1, licence_id=None))
_new_decision = _checked_constructor(Decision, dict(
    decision_id="0" * 32, action="tag", prompt="p", original_prompt="p",
    matches=[MatchDecision.model_construct(**_MD_SAMPLE)], tags=[], rejections=[], themes=["violence"],
    policy_version="v", elapsed_ms=0.5,
))

_EMPTY: frozenset = frozenset()
_SPAN = attrgetter("start", "end")
_UNJUDGED = object()
_VERDICT_MEMO_SIZE = 8192
# Each replacement copies the prompt, so a 1 MiB prompt naming a character 40,000 times would take a minute to
# rewrite; no real prompt names characters a thousand times.
DEFAULT_MAX_REWRITES = 1000
_REJECT = ACTION_SEVERITY["reject"]
_REWRITE = ACTION_SEVERITY["rewrite"]


# ---------------------------------------------------------------------------------------------------------
# compiled conditions and rules
# ---------------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Facts:
    """What conditions test, for one prompt (one rewrite round)."""

    use: str
    region: str
    age_group: str
    age_verified: bool
    themes: dict[str, ThemeHit]
    now: datetime
    prompt: str
    nt: Any
    # What verdicts depend on besides the match and the date: the context's fields and each theme's evidence.
    key: tuple = ()


class _Cond:
    __slots__ = ("use", "inc", "exc", "ages", "verified", "any", "all", "none", "present", "rh", "fr", "window",
                 "licences", "region_given")

    def __init__(self, c: Conditions, licences: Mapping[str, Licence]):
        self.use = frozenset(c.use) if c.use else None
        self.region_given = c.region is not None
        self.inc = frozenset(c.region.include) if c.region and c.region.include is not None else None
        self.exc = frozenset(c.region.exclude) if c.region and c.region.exclude is not None else None
        self.ages = frozenset(c.age_group) if c.age_group else None
        self.verified = c.age_verified
        t = c.themes
        self.any = tuple(t.any) if t and t.any else ()
        self.all = tuple(t.all) if t and t.all else ()
        self.none = tuple(t.none) if t and t.none else ()
        x = c.crossover
        self.present = x.present if x else None
        self.rh = frozenset(x.rightsholders) if x and x.rightsholders else None
        self.fr = frozenset(x.franchises) if x and x.franchises else None
        self.window = c.date
        self.licences = tuple(
            (lid, licences[lid], expect)
            for lid, expect in ((c.licence_active, True), (c.licence_inactive, False))
            if lid is not None
        )

    def instants(self) -> list[datetime]:
        """The start and end instants of its window and licences: between two of them, it holds or not alike."""
        spans = ([self.window] if self.window is not None else []) + [lic for _, lic, _ in self.licences]
        return [t for span in spans for t in (span.start, span.end) if t is not None]

    def holds(self, f: _Facts, others_rh: frozenset, others_fr: frozenset) -> bool:
        if self.use is not None and f.use not in self.use:
            return False
        if self.inc is not None and f.region not in self.inc:
            return False
        if self.exc is not None and f.region in self.exc:
            return False
        if self.ages is not None and f.age_group not in self.ages:
            return False
        if self.verified is not None and f.age_verified is not self.verified:
            return False
        if self.any and not any(t in f.themes for t in self.any):
            return False
        if self.all and not all(t in f.themes for t in self.all):
            return False
        if self.none and any(t in f.themes for t in self.none):
            return False
        if self.present is not None and bool(others_rh) is not self.present:
            return False
        if self.rh is not None and not (self.rh & others_rh):
            return False
        if self.fr is not None and not (self.fr & others_fr):
            return False
        if self.window is not None and not self.window.contains(f.now):
            return False
        for _, lic, expect in self.licences:
            if lic.active(f.now) is not expect:
                return False
        return True

    def explain(self, f: _Facts, others_rh: frozenset, others_fr: frozenset) -> list[str]:
        out = []
        if self.use is not None:
            out.append(f"use={f.use}")
        if self.region_given:
            s = f"region={f.region}"
            if self.inc is not None:
                s += f" in [{', '.join(sorted(self.inc))}]"
            if self.exc is not None:
                s += f" not in [{', '.join(sorted(self.exc))}]"
            out.append(s)
        if self.ages is not None:
            out.append(f"age_group={f.age_group}")
        if self.verified is not None:
            out.append(f"age_verified={'true' if f.age_verified else 'false'}")
        for t in self.any + self.all:
            if t in f.themes:
                out.append(f"theme {t} ({evidence(f.prompt, f.nt, f.themes[t])!r})")
        if self.none:
            out.append(f"no {'/'.join(self.none)} theme")
        if self.present is True or self.rh is not None or self.fr is not None:
            names = sorted(str(r) if r is not None else "unknown rightsholder" for r in others_rh)
            if self.fr is not None:
                names = sorted(self.fr & others_fr)
            out.append(f"crossover with {', '.join(names)}")
        elif self.present is False:
            out.append("no other rightsholder's character")
        if self.window is not None:
            out.append(f"date {f.now.date().isoformat()} in {self.window.describe()}")
        for lid, lic, expect in self.licences:
            state = "in force" if expect else "not in force"
            out.append(f"licence {lid} {state} on {f.now.date().isoformat()} ({lic.describe()})")
        return out


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    action: str
    when: Optional[_Cond]
    unless: Optional[_Cond]
    reason: Optional[str]
    licence_id: Optional[str]
    licence: Optional[Licence]
    share_rate: float
    rewrite: str
    code: Optional[str]
    message: Optional[Union[str, dict]]

    def instants(self) -> list[datetime]:
        out = (self.when.instants() if self.when is not None else []) + (self.unless.instants() if self.unless is not None else [])
        if self.action == "tag" and self.licence is not None:
            out += [t for t in (self.licence.start, self.licence.end) if t is not None]
        return out

    def fires(self, f: _Facts, others_rh: frozenset, others_fr: frozenset) -> bool:
        if self.when is not None and not self.when.holds(f, others_rh, others_fr):
            return False
        if self.unless is not None and self.unless.holds(f, others_rh, others_fr):
            return False
        # A tag never bills against a licence that is not in force: the rule is skipped, evaluation goes on.
        if self.action == "tag" and self.licence is not None and not self.licence.active(f.now):
            return False
        return True


def _compile_rule(rule: Rule, name: str, policy: PolicyFile) -> _Rule:
    lic = policy.licences.get(rule.licence) if rule.licence else None
    when = None if rule.when.is_empty() else _Cond(rule.when, policy.licences)
    unless = _Cond(rule.unless, policy.licences) if rule.unless is not None else None
    share = rule.share_rate if rule.share_rate is not None else (lic.share_rate if lic else 0.0)
    return _Rule(name, rule.action, when, unless, rule.reason, rule.licence, lic, share,
                 rule.rewrite or "descriptor", rule.code, rule.message)


def _phrase(p: Union[str, Phrase, None]) -> Optional[Phrase]:
    if p is None:
        return None
    return Phrase(text=p) if isinstance(p, str) else p


@dataclass(frozen=True, slots=True)
class _Chain:
    opted_in: bool
    scope: str  # where opted_in was decided, for explanations
    rules: tuple[_Rule, ...]
    descriptor: Mapping[str, Any]
    generic: tuple[Mapping[str, Any], ...]
    # Start and end instants of the rules' windows and licences, sorted: a verdict depends on the date only
    # through where `now` falls among them (and the date named in explanations).
    instants: tuple[datetime, ...] = ()


def _instants(rules: Sequence[_Rule]) -> tuple[datetime, ...]:
    return tuple(sorted({t for r in rules for t in r.instants()}))


class _Policy:
    """One rightsholder's compiled policy."""

    def __init__(self, path: Path, p: PolicyFile):
        self.path = path
        self.id = p.id
        self.rightsholder = p.rightsholder
        self.example = p.example
        self.messages = p.messages
        self.always_rules = self._rules(p, p.always.rules, "always")
        self.default_rules = self._rules(p, p.default.rules, "default")
        self.policy_generic = p.generic or {}
        self.franchise_rules = {fid: self._rules(p, s.rules, f"franchise:{fid}") for fid, s in p.franchises.items()}
        self.franchise_scope = p.franchises
        self.opted_in = p.opted_in
        self.character_rules = {cid: self._rules(p, s.rules, f"character:{cid}") for cid, s in p.characters.items()}
        self.character_scope = p.characters
        self.chains: dict[tuple[str, str], _Chain] = {}
        for cid, scope in p.characters.items():
            fid = scope.franchise or cid.split("/", 1)[0]
            self.chains[(cid, fid)] = self._chain(cid, fid)
        for fid in p.franchises:
            self.chains[("", fid)] = self._chain("", fid)
        self.default_chain = self._chain("", "")
        self.title_rules = {tid: self._rules(p, s.rules, f"title:{tid}") for tid, s in p.titles.items()}
        self.title_scope = p.titles
        self.title_chains = {tid: self._title_chain(tid) for tid in p.titles if tid != ANY_TITLE}
        self.any_title_chain = self._title_chain("") if ANY_TITLE in p.titles else None

    def _rules(self, p: PolicyFile, rules: list[Rule], scope: str) -> tuple[_Rule, ...]:
        return tuple(_compile_rule(r, f"{p.id}:{scope}#{r.id or i + 1}", p) for i, r in enumerate(rules))

    def _chain(self, cid: str, fid: str) -> _Chain:
        cs = self.character_scope.get(cid) if cid else None
        fs = self.franchise_scope.get(fid) if fid else None
        if cs is not None and cs.opted_in is not None:
            opted, scope = cs.opted_in, f"character {cid}"
        elif fs is not None and fs.opted_in is not None:
            opted, scope = fs.opted_in, f"franchise {fid}"
        else:
            opted, scope = self.opted_in, "policy"
        rules = (self.always_rules + self.character_rules.get(cid, ()) + self.franchise_rules.get(fid, ())
                 + self.default_rules)
        generic = tuple(g for g in ((fs.generic if fs else None), self.policy_generic) if g)
        return _Chain(opted, scope, rules, (cs.descriptor or {}) if cs else {}, generic, _instants(rules))

    def _title_chain(self, tid: str) -> _Chain:
        ts = self.title_scope.get(tid) if tid else None
        anys = self.title_scope.get(ANY_TITLE)
        rules = self.title_rules.get(tid, ()) + self.title_rules.get(ANY_TITLE, ())
        generic = tuple(g for g in ((ts.generic if ts else None), (anys.generic if anys else None)) if g)
        return _Chain(True, f"title {tid or ANY_TITLE}", rules, {}, generic, _instants(rules))

    def title_chain(self, tid: str) -> Optional[_Chain]:
        """The rules for a title linked to one of this rightsholder's franchises; None when there are none."""
        return self.title_chains.get(tid) or self.any_title_chain

    def chain(self, cid: str, fid: str) -> _Chain:
        c = self.chains.get((cid, fid))
        if c is not None:
            return c
        c = self.chains.get(("", fid))
        if c is not None and cid not in self.character_scope:
            return c
        if cid in self.character_scope or fid in self.franchise_scope:
            return self._chain(cid, fid)  # a character filed under another franchise id than its prefix: rare
        return self.default_chain


# eq=False: verdicts are compared by identity (`None in verdicts` would otherwise call a generated __eq__ per verdict).
@dataclass(frozen=True, slots=True, eq=False)
class _Verdict:
    action: str
    rule: str
    reason: str
    policy: Optional[_Policy]
    chain: Optional[_Chain]
    code: Optional[str] = None
    message: Optional[Union[str, dict]] = None
    licence_id: Optional[str] = None
    share_rate: float = 0.0
    rewrite: str = "descriptor"


# ---------------------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------------------
class PolicyEngine:
    """Rightsholder policies compiled for `decide`. Build with `from_paths` or `default`; immutable."""

    def __init__(self, loaded: LoadedFiles, *, unknown_action: str = "reject", unknown_share_rate: float = 0.0,
                 max_rounds: int = 3, max_rewrites: int = DEFAULT_MAX_REWRITES, normalizer: Optional[Normalizer] = None):
        """`normalizer`: the one the scanner normalizes prompts with (`Guard` passes its compiled lexicon's), so
        theme terms are folded exactly as the text they are looked for in; default: the process-wide one,
        built on first use. `max_rewrites`: the most mentions one rewrite round replaces; a prompt that needs
        more is rejected ("rewrite_too_many"), since each replacement copies the prompt."""
        if max_rewrites < 1:
            raise ValueError("max_rewrites must be at least 1")
        if unknown_action not in UNKNOWN_ACTIONS:
            raise ValueError(f"unknown_action must be one of {', '.join(UNKNOWN_ACTIONS)}, not {unknown_action!r}")
        if not 0.0 <= unknown_share_rate <= 1.0:
            raise ValueError("unknown_share_rate must be between 0 and 1")
        self.unknown_action = unknown_action
        self.unknown_share_rate = float(unknown_share_rate)
        self.max_rounds = max_rounds
        self.max_rewrites = int(max_rewrites)
        self.files = tuple(loaded.files)
        self.policies = tuple(_Policy(path, p) for path, p in loaded.policies)
        self._by_holder = {p.rightsholder.casefold(): p for p in self.policies}
        self.has_title_rules = any(p.title_rules for p in self.policies)
        self._normalize = normalizer.normalize if normalizer is not None else normalize
        self.themes = ThemeLexicon(loaded.themes, normalize=self._normalize)
        self._verdicts: dict[tuple, Optional[_Verdict]] = {}
        self._chains: dict[tuple, Optional[_Chain]] = {}  # (rightsholder, id, franchise, title) -> its rules
        self.theme_names = tuple(sorted(self.themes.themes))
        # The content hash of the files; the operator's settings are appended when they differ from the defaults.
        version = loaded.digest[:16]
        if unknown_action != "reject":
            version += f"-{unknown_action}"
        if self.unknown_share_rate:
            version += f"-{self.unknown_share_rate:g}"
        self.version = version
        langmod.warm_up()
        _s2t()

    # -- construction -----------------------------------------------------------------------------------
    @classmethod
    def from_paths(cls, paths: Sequence[Union[str, Path]], *, unknown_action: str = "reject",
                   unknown_share_rate: float = 0.0, max_rounds: int = 3, max_rewrites: int = DEFAULT_MAX_REWRITES,
                   normalizer: Optional[Normalizer] = None) -> "PolicyEngine":
        """Policy and theme files (or folders of them). The bundled theme lexicon is added unless a given
        theme file says `replace: true`."""
        return cls(load_files(paths), unknown_action=unknown_action, unknown_share_rate=unknown_share_rate,
                   max_rounds=max_rounds, max_rewrites=max_rewrites, normalizer=normalizer)

    @staticmethod
    def default_dir() -> Path:
        """The folder of the bundled policies and theme lexicon."""
        return bundled_dir()

    @classmethod
    def default(cls, *, unknown_action: str = "reject", max_rewrites: int = DEFAULT_MAX_REWRITES,
                normalizer: Optional[Normalizer] = None) -> "PolicyEngine":
        """The bundled example policies and theme lexicon (policies/*.yaml)."""
        return cls.from_paths([bundled_dir()], unknown_action=unknown_action, max_rewrites=max_rewrites,
                              normalizer=normalizer)

    def policy_for(self, rightsholder: Optional[str]) -> Optional[_Policy]:
        return self._by_holder.get(rightsholder.casefold()) if rightsholder else None

    def detect_themes(self, text: str) -> list[str]:
        """Themes of a prompt (sorted names)."""
        return sorted(self.themes.detect(self._normalize(text).text))

    # -- judging one match ------------------------------------------------------------------------------
    def _unknown(self, rule: str, why: str, policy: Optional[_Policy], chain: Optional[_Chain], code: str) -> _Verdict:
        a = self.unknown_action
        model = "opt-in" if a == "reject" else "opt-out"
        reason = f"{why}; {model} model: unknown_action={a}"
        return _Verdict(a, rule, reason, policy, chain, code=code if a == "reject" else None,
                        share_rate=self.unknown_share_rate, rewrite="descriptor")

    def _judge(self, m: Match, f: _Facts, others_rh: frozenset, others_fr: frozenset) -> _Verdict:
        pol = self.policy_for(m.rightsholder)
        if pol is None:
            who = repr(m.rightsholder) if m.rightsholder else "unknown"
            return self._unknown("opt-in:no-policy", f"rightsholder {who} has no policy", None, None, "not_opted_in")
        chain = pol.chain(m.character_id, m.franchise)
        if not chain.opted_in:
            return self._unknown(f"{pol.id}:not-opted-in", f"{pol.rightsholder} has not opted in ({chain.scope})",
                                 pol, chain, "not_opted_in")
        v = self._first(pol, chain, f, others_rh, others_fr)
        if v is not None:
            return v
        return self._unknown(f"{pol.id}:no-rule-matched", f"no rule of {pol.id} applies", pol, chain, "no_rule_matched")

    def _first(self, pol: _Policy, chain: _Chain, f: _Facts, others_rh: frozenset,
               others_fr: frozenset) -> Optional[_Verdict]:
        """The verdict of the first rule of `chain` that fires, or None."""
        for r in chain.rules:
            if r.fires(f, others_rh, others_fr):
                facts = r.when.explain(f, others_rh, others_fr) if r.when is not None else []
                if r.unless is not None:
                    facts.append("unless-condition did not hold")
                if r.action == "tag" and r.licence is not None:
                    facts.append(f"licence {r.licence_id} in force ({r.licence.describe()})")
                base = r.reason or _default_reason(r.action)
                reason = f"{base} ({'; '.join(facts)})" if facts else base
                return _Verdict(r.action, r.name, reason, pol, chain, code=r.code, message=r.message,
                                licence_id=r.licence_id, share_rate=r.share_rate, rewrite=r.rewrite)
        return None

    def _judge_title(self, m: Match, f: _Facts, others_rh: frozenset, others_fr: frozenset) -> Optional[_Verdict]:
        """A title's verdict, or None when no rule applies (titles are not opt-in: it is allowed)."""
        pol = self.policy_for(m.rightsholder)
        chain = pol.title_chain(m.character_id) if pol is not None else None
        return self._first(pol, chain, f, others_rh, others_fr) if chain is not None else None

    def _judge_all(self, matches: list[Match], f: _Facts) -> list[Optional[_Verdict]]:
        if len(matches) == 1:  # the usual case: no other character for crossover conditions
            m = matches[0]
            return [self._remembered(m, m.method == "title", f, _EMPTY, _EMPTY)]
        memo: dict[tuple, Optional[_Verdict]] = {}
        out = []
        chars = [m for m in matches if m.method != "title"]  # crossovers are between characters
        multi = len({m.character_id for m in chars}) > 1
        holders = franchises = _EMPTY
        if multi or len(chars) < len(matches):
            holders = frozenset([x.rightsholder for x in chars])
            franchises = frozenset([x.franchise for x in chars])
        for m in matches:
            title = m.method == "title"
            key = (m.character_id, m.franchise, m.rightsholder, title)
            if key in memo:
                v = memo[key]
            else:
                if multi or title:
                    # The rightsholders and franchises of the characters other than m's (crossover conditions).
                    others_rh, others_fr = holders - {m.rightsholder}, franchises - {m.franchise}
                else:
                    others_rh = others_fr = _EMPTY
                v = memo[key] = self._remembered(m, title, f, others_rh, others_fr)
            out.append(v)
        return out

    def _remembered(self, m: Match, title: bool, f: _Facts, others_rh: frozenset, others_fr: frozenset) -> Optional[_Verdict]:
        """The verdict on `m`, from the engine's memo when the same character was judged on the same facts.

        A verdict depends only on the match's identity, the facts its rules test, and the date through where it
        falls among the rules' window and licence instants (plus the day, which explanations name). Platforms
        send few distinct contexts, so after warm-up nearly every verdict is a dictionary lookup instead of a
        walk through the rules."""
        target = (m.rightsholder, m.character_id, m.franchise, title)
        chain = self._chains.get(target, _UNJUDGED)
        if chain is _UNJUDGED:
            pol = self.policy_for(m.rightsholder)
            chain = None
            if pol is not None:
                chain = pol.title_chain(m.character_id) if title else pol.chain(m.character_id, m.franchise)
            if len(self._chains) >= _VERDICT_MEMO_SIZE:
                self._chains.clear()
            self._chains[target] = chain
        when = None
        if chain is not None and chain.instants:
            now = f.now
            when = (bisect_left(chain.instants, now), bisect_right(chain.instants, now), now.date())
        key = (target, others_rh, others_fr, f.key, when)
        memo = self._verdicts
        v = memo.get(key, _UNJUDGED)
        if v is _UNJUDGED:
            v = (self._judge_title if title else self._judge)(m, f, others_rh, others_fr)
            if len(memo) >= _VERDICT_MEMO_SIZE:
                memo.clear()
            memo[key] = v
        return v

    # -- phrases and messages ---------------------------------------------------------------------------
    def _replacement(self, v: _Verdict, m: Match, text: str, seen: dict, around: Optional[str] = None) -> Edit:
        lang = langmod.mention_lang(text, m.start, m.end, _written_lang(m), seen=seen, around=around)
        if v.rewrite == "drop":
            return Edit(m.start, m.end, lang, m.alias)
        maps: list[Mapping[str, Any]] = []
        if v.chain is not None:
            if v.rewrite == "descriptor" and v.chain.descriptor:
                maps.append(v.chain.descriptor)
            maps.extend(v.chain.generic)
        maps.append(BUILTIN_TITLE_GENERIC if m.method == "title" else BUILTIN_GENERIC)
        for mp in maps:
            p = _phrase(pick_lang(mp, lang))
            if p is not None:
                return Edit(m.start, m.end, lang, m.alias, p.text, p.plural)
        return Edit(m.start, m.end, lang, m.alias)  # unreachable: the built-in map covers every language

    def _message(self, v: _Verdict, m: Optional[Match], lang: str) -> str:
        msg = v.message
        if msg is None and v.policy is not None and v.code:
            msg = v.policy.messages.get(v.code)
        if msg is None:
            msg = BUILTIN_MESSAGES.get(v.code or "", BUILTIN_MESSAGES["rejected"])
        text = pick_lang(msg, lang, english_fallback=True) if isinstance(msg, dict) else msg
        if text is None:
            text = next(iter(msg.values())) if isinstance(msg, dict) and msg else ""
        name = m.surface if m is not None else ""
        holder = (v.policy.rightsholder if v.policy else (m.rightsholder if m else None)) or "the rightsholder"
        return text.replace("{name}", name).replace("{rightsholder}", holder)

    # -- the decision -----------------------------------------------------------------------------------
    def _context(self, context: Union[CheckContext, Mapping, None]) -> CheckContext:
        if context is None:
            return DEFAULT_CONTEXT
        if isinstance(context, CheckContext):
            return context
        return CheckContext.model_validate(context)

    def _facts(self, ctx: CheckContext, text: str, nt, themes: dict) -> _Facts:
        at = ctx.at
        if at is None:
            now = datetime.now(timezone.utc)
        else:
            now = at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)
        use = "commercial" if ctx.commercial else "personal"
        region = ctx.region.upper() if ctx.region else "unknown"
        age_group = ctx.age_group or "unknown"
        evidence_of = _evidence_of(themes, text, nt) if themes else ()
        return _Facts(use, region, age_group, ctx.age_verified, themes, now, text, nt,
                      (use, region, age_group, ctx.age_verified, evidence_of))

    def decide(self, prompt: str, matches: list[Match], context: Union[CheckContext, Mapping, None] = None, *,
               rescan: Optional[Callable[[str], list[Match]]] = None, normalized: Any = None,
               started: Optional[float] = None, titles: Optional[list[Match]] = None,
               rescan_normalized: Optional[Callable[[str], tuple[list[Match], Any]]] = None) -> Decision:
        """Decide what to do with `prompt`, given the character `matches` found in it.

        `titles`: the title matches (Guard.scan_titles) for the policies' `titles` rules; a title no rule
        applies to is allowed and not reported. With titles, `rescan` should return titles as well.
        `rescan` (Guard.scan) re-checks rewritten prompts; without it a rewrite is rejected, since its result
        cannot be verified. `rescan_normalized`, in its place: the matches and the NormalizedText the scanner
        made of the rewritten prompt (Guard passes it, so a rewritten prompt is not normalized twice).
        `normalized`: the caller's `normalize(prompt)`, to avoid doing it twice.
        `started`: a `time.perf_counter()` value to measure elapsed_ms from (default: now).
        """
        t0 = started if started is not None else time.perf_counter()
        ctx = self._context(context)
        nt = normalized if normalized is not None else self._normalize(prompt)
        confirmed = [m for m in matches if m.confirmed] if matches else []
        named = [t for t in titles if t.confirmed] if titles else []
        if named and self.has_title_rules:
            confirmed += named
            named = []
        hits = self.themes.detect(nt.text, ignore=_inside_names(nt, confirmed + named if named else confirmed) if confirmed or named else None)
        if not confirmed:
            return _new_decision(
                decision_id=new_decision_id(), action="allow", prompt=prompt, original_prompt=prompt, matches=[],
                tags=[], rejections=[], themes=sorted(hits) if hits else [], policy_version=self.version,
                elapsed_ms=(time.perf_counter() - t0) * 1000.0,
            )
        if rescan_normalized is None and rescan is not None:
            rescan_normalized = partial(_rescan_and_normalize, rescan, self._normalize)
        return self._decide_matches(prompt, confirmed, ctx, nt, hits, rescan_normalized, t0)

    def _decide_matches(self, prompt, matches, ctx, nt, hits, rescan, t0) -> Decision:
        # rescan: text -> (matches, NormalizedText), or None
        matches = sorted(matches, key=_SPAN)
        text = prompt
        facts = self._facts(ctx, text, nt, hits)
        reported: list[MatchDecision] = []
        seen_chars: set[str] = set()
        action = "allow"
        rejections: list[Rejection] = []
        tags: list[RevenueTag] = []
        for rnd in range(self.max_rounds + 1):
            judged_matches = matches
            verdicts = self._judge_all(matches, facts)
            if None in verdicts:  # titles no rule applies to: allowed, not reported
                judged = [(m, v) for m, v in zip(matches, verdicts) if v is not None]
                matches, verdicts = [m for m, _ in judged], [v for _, v in judged]
            worst = 0
            round_mds: list[MatchDecision] = []
            for m, v in zip(matches, verdicts):
                severity = ACTION_SEVERITY[v.action]
                if severity > worst:
                    worst = severity
                if rnd == 0 or severity >= _REWRITE or m.character_id not in seen_chars:
                    round_mds.append(_md(m, v, rnd))
            for m in matches:  # after the loop above: a character new in this round is reported at each mention
                seen_chars.add(m.character_id)
            reported.extend(round_mds)
            if worst == _REJECT:
                lang = langmod.prompt_lang(prompt)
                done: set[tuple] = set()
                for m, v in zip(matches, verdicts):
                    if v.action == "reject" and (m.character_id, v.code) not in done:
                        done.add((m.character_id, v.code))
                        rejections.append(Rejection(code=v.code or "rejected", message=self._message(v, m, lang),
                                                    character_id=m.character_id))
                action, text = "reject", prompt
                break
            if worst < _REWRITE:
                action = "rewrite" if rnd > 0 else ("tag" if worst == 1 else "allow")
                tags = _tags(matches, verdicts) if worst else []  # allow only: no tags
                break
            to_edit = [(i, m, v) for i, (m, v) in enumerate(zip(matches, verdicts)) if v.action == "rewrite"]
            if rescan is None or rnd == self.max_rounds or len(to_edit) > self.max_rewrites:
                if rescan is None:
                    code, why = "rewrite_unverified", "no scanner to re-check the rewritten prompt"
                elif len(to_edit) > self.max_rewrites:
                    code, why = "rewrite_too_many", f"{len(to_edit)} mentions to rewrite, more than {self.max_rewrites}"
                else:
                    code, why = "rewrite_not_converged", f"mentions remained after {self.max_rounds} rewrite rounds"
                v = _Verdict("reject", f"rewrite:{code}", why, None, None, code=code)
                message = self._message(v, None, langmod.prompt_lang(prompt))
                if code == "rewrite_too_many":  # the figures, which read the same in every language
                    message += f" ({len(to_edit)} > {self.max_rewrites})"
                rejections.append(Rejection(code=code, message=message))
                action, text = "reject", prompt
                break
            # rewrite this round's mentions and look again; every mention of the round bounds the edits
            all_spans = [(m.start, m.end) for m in judged_matches]
            seen: dict[str, str] = {}  # the text's Latin language by alias language, guessed once
            around = langmod.without_spans(text, all_spans) if len(matches) > 1 else None
            edits = []
            for _, m, v in to_edit:
                edits.append(self._replacement(v, m, text, seen, around))
            new_text, replaced = apply_edits(text, edits, all_spans)
            by_span = {(m.start, m.end): r for (_, m, _), r in zip(to_edit, replaced)}
            for md in round_mds:
                if md.action == "rewrite":
                    md.replacement = by_span.get((md.start, md.end), md.replacement)
            if not any(ch.isalnum() for ch in new_text):
                v = _Verdict("reject", "rewrite:rewrite_empty", "nothing left after the rewrite", None, None,
                             code="rewrite_empty")
                rejections.append(Rejection(code="rewrite_empty",
                                            message=self._message(v, None, langmod.prompt_lang(prompt))))
                action, text = "reject", prompt
                break
            text = new_text
            found, nt_new = rescan(text)
            matches = sorted((m for m in found if m.confirmed), key=_SPAN)
            facts = self._facts(ctx, text, nt_new, self.themes.detect(nt_new.text, ignore=_inside_names(nt_new, matches) if matches else None))
        return _new_decision(
            decision_id=new_decision_id(),
            action=action,
            prompt=text,
            original_prompt=prompt,
            matches=reported,
            tags=tags if action != "reject" else [],
            rejections=rejections,
            themes=sorted(hits),
            policy_version=self.version,
            elapsed_ms=(time.perf_counter() - t0) * 1000.0,
        )


def _rescan_and_normalize(rescan: Callable[[str], list[Match]], normalize: Callable, text: str) -> tuple[list[Match], Any]:
    return rescan(text), normalize(text)


def _evidence_of(themes: dict, text: str, nt) -> tuple:
    return tuple(sorted([(name, evidence(text, nt, hit)) for name, hit in themes.items()]))


_FEW_NAMES = 16


def _inside_names(nt, names: Sequence[Match]) -> Callable[[int, int], bool]:
    """Whether a theme hit (a span of the normalized text) lies inside a mention: the words of a name are not a
    theme (诅咒娃娃, "curse doll", is Banette's Chinese name, not a horror scene)."""
    if len(names) <= _FEW_NAMES:
        return partial(_inside, nt, names)
    # A prompt that repeats names and theme words thousands of times: by bisection, not name by name for each hit.
    return partial(_inside_indexed, nt, SpanIndex((m.start, m.end) for m in names))


def _inside(nt, names: Sequence[Match], start: int, end: int) -> bool:
    # Plain loops and a partial, here and in the helpers above, rather than closures and generator expressions:
    # those would make the variables they use closure cells, allocated on every call of the hot path.
    s, e = nt.span(start, end)
    for m in names:
        if m.start <= s and e <= m.end:
            return True
    return False


def _inside_indexed(nt, names: SpanIndex, start: int, end: int) -> bool:
    return names.contains(*nt.span(start, end))


def _written_lang(m: Match) -> str:
    """The language of the alias `m` was found by, as a hint for the words around it; none when a Japanese alias
    was written in another form. The folding that matches 宵宫 (simplified Chinese) to 宵宮 (Japanese, listed first)
    says nothing of the prompt's language, and a rewrite in Chinese text must stay Chinese."""
    if m.lang == "ja" and m.surface != m.alias:
        return ""
    return m.lang


def _default_reason(action: str) -> str:
    return {
        "allow": "allowed by policy",
        "tag": "allowed with revenue share",
        "rewrite": "mention replaced as the policy requires",
        "reject": "rejected by policy",
    }[action]


def _md(m: Match, v: _Verdict, rnd: int) -> MatchDecision:
    return _new_match_decision(
        character_id=m.character_id, franchise=m.franchise, rightsholder=m.rightsholder, start=m.start, end=m.end,
        surface=m.surface, alias=m.alias, method=m.method, score=m.score, action=v.action, rule=v.rule,
        reason=v.reason, replacement=None, round=rnd,
    )


def _tags(matches: list[Match], verdicts: list[_Verdict]) -> list[RevenueTag]:
    groups: dict[tuple, list[str]] = {}
    for m, v in zip(matches, verdicts):
        if v.action != "tag":
            continue
        holder = (v.policy.rightsholder if v.policy else m.rightsholder) or "unknown"
        ids = groups.setdefault((holder, v.licence_id, v.share_rate), [])
        if m.character_id not in ids:
            ids.append(m.character_id)
    return [_new_revenue_tag(rightsholder=h, character_ids=sorted(ids), share_rate=float(rate), licence_id=lic)
            for (h, lic, rate), ids in groups.items()]
