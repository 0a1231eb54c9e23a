"""Why the scanner did or did not report something: `guard lexicon explain "prompt"`.

The verdicts are the scanner's own. `Scanner.scan(include_candidates=True)` gives what it accepts and what it
holds back for lack of context; the rest is re-derived with the scanner's own pieces (`boundary_ok`, its
context notes, its token pattern, the fuzzy index's `candidates` / `verify`), so this module decides nothing by
itself. For every candidate span it shows the normalized text, the lexicon entries the span came close to with
their scores, and why each was accepted or rejected:

- boundary: the hit sits inside a longer word (the script-aware boundary rules). With the hashed exact index of
  large lexicons (guard.exact), hits inside Latin words are never found, so they are not listed;
- overlap: a longer mention covers it (longest mention wins);
- ambiguity and context: an ambiguous alias needs a franchise name, cue, title or unambiguous character of
  its franchise in the prompt;
- threshold: a typo is further from the alias than the fuzzy matcher allows, or the token is a common word.

This is a maintainer's tool: it does more work per prompt than the scanner and is never on the request path.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Optional

from rapidfuzz.distance import OSA

from guard.compiler import CUE, FRANCHISE, CompiledLexicon
from guard.fuzzy import max_distance, phonetic_key
from guard.matcher import _SCORE, Scanner, boundary_ok, latin_words
from guard.models import Match

ACCEPTED, REJECTED, CONTEXT = "accepted", "rejected", "context"


@dataclass
class Near:
    """One lexicon entry a span came close to."""

    target: str  # character id, or franchise / title id for context
    alias: str  # as written in the lexicon
    kind: str  # name | variant | partial | fuzzy | franchise | cue | title
    lang: str
    score: float
    verdict: str
    reasons: list[str] = field(default_factory=list)


@dataclass
class Span:
    start: int  # in the original prompt
    end: int
    surface: str
    normalized: str
    source: str  # exact | despaced | fuzzy | context
    verdict: str  # accepted | rejected | context
    near: list[Near] = field(default_factory=list)


@dataclass
class Explanation:
    prompt: str
    normalized: str
    context: dict[str, str]  # franchise id -> evidence
    spans: list[Span]
    matches: list[Match]

    def to_dict(self) -> dict:
        return {
            "prompt": self.prompt,
            "normalized": self.normalized,
            "context": self.context,
            "spans": [asdict(s) for s in self.spans],
            "matches": [m.to_dict() for m in self.matches],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _boundary(t: str, s: int, e: int, inf, *, left: Optional[str] = None, right: Optional[str] = None) -> bool:
    """The scanner's boundary rule for a hit of the pattern described by `inf` (one side can be switched off by
    passing "other" for it). Pattern properties that the rule reads beyond the scripts and the length, such as
    `strict`, are passed along when the compiled lexicon has them."""
    kwargs = {"strict": inf.strict} if hasattr(inf, "strict") else {}
    return boundary_ok(t, s, e, left or inf.left, right or inf.right, inf.length, **kwargs)


def context_hits(scanner: Scanner, t: str) -> tuple[dict[str, str], list[tuple[int, int]]]:
    """Franchise context (franchise id -> evidence) and the normalized spans of the context words in the
    normalized text `t`, as the scanner's main pass notes them."""
    c = scanner.c
    context: dict[str, str] = {}
    char_cues: dict[int, str] = {}
    spans: list[tuple[int, int]] = []
    for pid, s, e in c.exact.find(t):
        es, inf = c.entries[pid], c.info[pid]
        if any(en.char < 0 or en.kind == CUE for en in es) and _boundary(t, s, e, inf):
            scanner._note_context(es, context, char_cues)
            spans.append((s, e))
    return context, spans


def _boundary_reason(t: str, s: int, e: int, inf) -> str:
    """Which side of the hit fails the scanner's boundary rule (each side tested alone with boundary_ok)."""
    left_bad = not _boundary(t, s, e, inf, right="other")
    right_bad = not _boundary(t, s, e, inf, left="other")
    sides = []
    if left_bad:
        sides.append(f"{t[s - 1]!r} before it")
    if right_bad:
        sides.append(f"{t[e]!r} after it" if e < len(t) else "the text after it")
    window = t[max(0, s - 6) : e + 6]
    return f"boundary: {' and '.join(sides) or 'a neighbouring character'} joins it to a longer word ({window!r})"


def explain(scanner: Scanner, text: str, *, near_misses: bool = True) -> Explanation:
    c: CompiledLexicon = scanner.c
    nt = c.normalizer.normalize(text)
    t = nt.text
    matches = scanner.scan(text, include_candidates=True)
    by_span: dict[tuple[int, int], list[Match]] = {}
    for m in matches:
        by_span.setdefault((m.start, m.end), []).append(m)
    accepted_spans = [(m.start, m.end) for m in matches]

    context: dict[str, str] = {}
    char_cues: dict[int, str] = {}
    spans: list[Span] = []
    context_spans: list[tuple[int, int]] = []  # normalized
    explained: set[tuple[int, int]] = set()
    explained_ids: set[tuple[int, int, str]] = set()

    for pid, s, e in c.exact.find(t):
        inf, es = c.info[pid], c.entries[pid]
        os_, oe = nt.span(s, e)
        ok = _boundary(t, s, e, inf)
        char_entries = [en for en in es if en.char >= 0 and en.kind != CUE]
        ctx_entries = [en for en in es if en.char < 0 or en.kind == CUE]
        if ok and ctx_entries:
            scanner._note_context(es, context, char_cues)
            context_spans.append((s, e))
        if ctx_entries and (not char_entries or not ok):
            near = [
                Near(en.franchise if en.kind != "title" else en.note, en.alias, en.kind, en.lang, 1.0,
                     CONTEXT if ok else REJECTED,
                     [_context_label(en, c)] + ([_boundary_reason(t, s, e, inf)] if not ok else []))
                for en in ctx_entries
            ]
            spans.append(Span(os_, oe, nt.original[os_:oe], t[s:e], "context", CONTEXT if ok else REJECTED, near))
        if not char_entries:
            continue
        found = by_span.get((os_, oe), [])
        signed = None
        if not found and ok:  # a sign after a name that several characters share (Nidoran ♂) widens the mention
            # (Only the sign widens a mention and keeps its normalized name.)
            found = [w for w in matches if w.start == os_ and w.end > oe and w.normalized == t[s:e]]
            if found:
                signed, oe = found[0], found[0].end
        near = []
        for en in char_entries:
            cid = c.characters[en.char].id
            score = _SCORE.get(en.kind, 0.9)
            m = next((m for m in found if m.character_id == cid), None)
            if not ok:
                near.append(Near(cid, en.alias, en.kind, en.lang, score, REJECTED, [_boundary_reason(t, s, e, inf)]))
            elif m is not None:
                verdict = ACCEPTED if m.confirmed else REJECTED
                near.append(Near(cid, en.alias, en.kind, en.lang, m.score, verdict, list(m.evidence)))
                explained.add((os_, oe))
                explained_ids.add((os_, oe, cid))
            elif signed is not None:
                why = f"the sign after it names {signed.character_id} alone: {signed.surface!r}"
                near.append(Near(cid, en.alias, en.kind, en.lang, score, REJECTED, [en.note, why]))
            else:
                winner = next((w for w in matches if _overlaps((w.start, w.end), (os_, oe)) and (w.start, w.end) != (os_, oe)), None)
                why = (
                    f"overlap: inside the longer mention {winner.surface!r} ({winner.character_id}); the longest mention wins"
                    if winner is not None else "not selected by the scanner"
                )
                near.append(Near(cid, en.alias, en.kind, en.lang, score, REJECTED, [en.note, why]))
        verdict = ACCEPTED if any(n.verdict == ACCEPTED for n in near) else REJECTED
        spans.append(Span(os_, oe, nt.original[os_:oe], t[s:e], "exact", verdict, near))

    # Mentions found by the despaced and fuzzy passes, and in another reading of the text (leetspeak 1 as l).
    for m in matches:
        if m.method in ("despaced", "fuzzy"):
            if (m.start, m.end) in explained:
                continue
            source = m.method
        elif (m.start, m.end, m.character_id) in explained_ids:
            continue
        else:
            source = "exact"
        existing = next((sp for sp in spans if (sp.start, sp.end) == (m.start, m.end) and sp.source == source), None)
        near = Near(m.character_id, m.alias, m.method, m.lang, m.score, ACCEPTED if m.confirmed else REJECTED, list(m.evidence))
        if existing is None:
            spans.append(Span(m.start, m.end, m.surface, m.normalized, source, near.verdict, [near]))
        else:
            existing.near.append(near)
            if near.verdict == ACCEPTED:
                existing.verdict = ACCEPTED

    if near_misses:
        spans.extend(_fuzzy_near_misses(scanner, nt, accepted_spans, context_spans))

    for m in matches:
        for ev in m.evidence:
            if "confirmed by unambiguous character" in ev:
                context.setdefault(m.franchise, ev.split("confirmed by ", 1)[1])
    spans.sort(key=lambda sp: (sp.start, -sp.end, sp.source))
    return Explanation(text, t, context, spans, matches)


def _context_label(en, c: CompiledLexicon) -> str:
    if en.kind == FRANCHISE:
        return f"franchise name of {en.franchise}: context for its ambiguous names"
    if en.kind == CUE:
        who = c.characters[en.char].id if en.char >= 0 else en.franchise
        return f"cue of {who}: context" + ("" if en.char < 0 else " for that character")
    if en.kind == "title":
        if not en.franchise:
            return f"title {en.note}, not linked to a franchise: reported as a title, no context"
        if en.ambiguous:
            return f"title {en.note} of {en.franchise}; ambiguous ({en.ambiguous}): no context"
        return f"title {en.note} of {en.franchise}: context for its ambiguous names"
    return en.note


def _fuzzy_near_misses(scanner: Scanner, nt, accepted: list[tuple[int, int]], context_spans: list[tuple[int, int]]) -> list[Span]:
    """Latin tokens the typo matcher looked at (or would have) and the aliases they came close to."""
    c = scanner.c
    fuzzy, common = c.fuzzy, c.common
    t = nt.text
    out: list[Span] = []
    if not len(fuzzy):
        return out
    for word, s, e in latin_words(t):
        os_, oe = nt.span(s, e)
        if any(_overlaps((os_, oe), a) for a in accepted) or any(_overlaps((s, e), a) for a in context_spans):
            continue
        key = phonetic_key(word)
        targets = fuzzy.candidates(word, key, depth=2)
        near: list[Near] = []
        for ti in targets:
            alias = fuzzy.words[ti]
            limit = max_distance(len(alias))
            d = OSA.distance(word, alias)
            if d > limit + 1 or (d > limit and word in common):
                continue  # far off, or a common word that would not have matched anyway
            score = round(1.0 - d / max(len(alias), len(word)), 3)
            accepted_d = fuzzy.verify(word, key, ti)
            pid = fuzzy.patterns[ti]
            owners = [en for en in c.entries[pid] if en.char >= 0 and en.kind != CUE]
            reasons = [f"{d} edit(s) from {alias!r}; the limit for a {len(alias)}-letter alias is {limit}"]
            if word in common:
                verdict = REJECTED
                reasons.append(f"threshold: {word!r} is a common word (zipf {common[word] / 10:.1f}), never matched as a typo")
            elif accepted_d is None:
                verdict = REJECTED
                reasons.append("threshold: over the edit limit" if d > limit else "threshold: rejected by the typo rule")
            else:
                verdict = REJECTED
                reasons.append("within the limit, but another alias scored higher or the scanner did not select it")
            for en in owners[:3]:
                near.append(Near(c.characters[en.char].id, en.alias, "fuzzy", en.lang, score, verdict, list(reasons)))
        if near:
            near.sort(key=lambda n: -n.score)
            out.append(Span(os_, oe, nt.original[os_:oe], word, "fuzzy", REJECTED, near[:5]))
    return out


# -- text output --------------------------------------------------------------------------------------------
_MARK = {ACCEPTED: "ACCEPT", REJECTED: "REJECT", CONTEXT: "CONTEXT"}


def format_text(ex: Explanation) -> str:
    lines = [f"prompt:     {ex.prompt}", f"normalized: {ex.normalized}"]
    if ex.context:
        lines.append("context:    " + "; ".join(f"{fr} ({why})" for fr, why in sorted(ex.context.items())))
    else:
        lines.append("context:    none (ambiguous names stay unconfirmed)")
    if not ex.spans:
        lines.append("no candidate spans")
    for sp in ex.spans:
        lines.append("")
        lines.append(f"[{sp.start}:{sp.end}] {sp.surface!r} -> {sp.normalized!r}  ({sp.source}) {_MARK[sp.verdict]}")
        for n in sp.near:
            lines.append(f"  {_MARK[n.verdict]:7s} {n.target}  {n.kind} {n.alias!r}" + (f" ({n.lang})" if n.lang else "") + f"  score {n.score}")
            for r in n.reasons:
                if r:
                    lines.append(f"          - {r}")
    confirmed = [m for m in ex.matches if m.confirmed]
    lines.append("")
    lines.append("reported: " + (", ".join(f"{m.character_id} [{m.start}:{m.end}]" for m in confirmed) or "nothing"))
    return "\n".join(lines)


def explain_text(text: str, scanner: Optional[Scanner] = None) -> Explanation:
    """Explain with the default guard (bundled lexicons) unless a scanner is given."""
    if scanner is None:
        from guard.engine import default_guard

        scanner = default_guard().scanner
    return explain(scanner, text)
