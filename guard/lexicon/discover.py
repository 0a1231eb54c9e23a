"""`guard lexicon discover PROMPTS.jsonl`: mine prompt logs for character mentions the lexicons miss.

Two sources, each proposal ranked by the number of prompts it occurs in:

1. Near-misses of known aliases. Latin-script words that the scanner did not match get candidate aliases
   from the fuzzy index (`FuzzyIndex.candidates` with two deletions) and from a trigram index over the same
   aliases built once per run (it reaches two substitutions, which deletions alone do not), so the work is
   driven by candidates and never loops over all aliases. Candidates are scored with rapidfuzz; a word one
   edit beyond the scanner's threshold for that alias ("pikachew" for the 7-letter "pikachu", which allows
   one edit) is proposed as a new alias of its character.
2. Spans that a statistical spaCy pipeline labels as a character or a person and that are no known alias:
   `ja_ginza` (`pip install 'character-guard[ginza]'`, label `Character` / `Person`) on Japanese prompts and
   `en_core_web_sm` (label `PERSON`), where installed, on Latin-script prompts. These pipelines are optional,
   slow (tens of milliseconds a prompt) and run here only, never on the request path.

Proposals are suggestions for a maintainer: each comes with the prompts it was seen in, the franchise context
of those prompts, and a `guard lexicon add` command line where the target character is known.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shlex
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Iterable, Iterator, Optional, Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from guard.compiler import CUE
from guard.explain import context_hits
from guard.fuzzy import max_distance, phonetic_key
from guard.matcher import Scanner, latin_words

NEAR_MISS, NER = "near-miss", "ner"
# Installed-if-available pipelines: (package, labels that mean a character or a person, which prompts).
PIPELINES = (
    ("ja_ginza", frozenset({"Character", "Person"}), "ja"),
    ("en_core_web_sm", frozenset({"PERSON"}), "latin"),
)
MIN_SCORE = 70.0  # rapidfuzz ratio below which a near-miss is not worth proposing
_KANA = re.compile(r"[\u3041-\u30ff]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass
class Proposal:
    normalized: str
    source: str  # near-miss | ner:<pipeline>
    count: int = 0
    surfaces: Counter = field(default_factory=Counter)
    target: Optional[str] = None  # the character a near-miss points at
    target_alias: Optional[str] = None
    score: Optional[float] = None  # rapidfuzz ratio (0-100) to the target alias
    distance: Optional[int] = None
    limit: Optional[int] = None
    labels: Counter = field(default_factory=Counter)
    franchises: Counter = field(default_factory=Counter)  # franchise context of the prompts it was seen in
    examples: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.surfaces.most_common(1)[0][0] if self.surfaces else self.normalized

    def command(self) -> Optional[str]:
        if self.target:
            return f"guard lexicon add {self.target} {shlex.quote(self.text)}"
        return None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["text"] = self.text
        d["surfaces"] = dict(self.surfaces)
        d["labels"] = dict(self.labels)
        d["franchises"] = dict(self.franchises)
        d["command"] = self.command()
        return d


def _trigrams(word: str) -> list[str]:
    padded = f" {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


def available_pipelines() -> list[str]:
    """The optional statistical pipelines that are installed."""
    return [name for name, _labels, _which in PIPELINES if importlib.util.find_spec(name) is not None]


def _is_japanese(text: str) -> bool:
    return _KANA.search(text) is not None


def _is_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(1 for c in letters if _LATIN.match(c)) >= 0.8 * len(letters)


class Discoverer:
    def __init__(self, scanner: Scanner, *, near_miss: bool = True, pipelines: Sequence[str] = (), ner_limit: Optional[int] = None, max_examples: int = 3):
        self.scanner = scanner
        self.c = scanner.c
        self.near_miss = near_miss
        self.pipelines = list(pipelines)
        self.ner_limit = ner_limit
        self.max_examples = max_examples
        self.known = {p: i for i, p in enumerate(self.c.patterns)}
        self._grams: dict[str, list[int]] = {}
        for t, word in enumerate(self.c.fuzzy.words):
            for g in set(_trigrams(word)):
                self._grams.setdefault(g, []).append(t)
        self.proposals: dict[tuple[str, str, str], Proposal] = {}
        self.prompts = 0
        self.ner_prompts: dict[str, int] = {}

    # -- per prompt ---------------------------------------------------------------------------------------
    def _covered(self, prompt: str):
        nt = self.c.normalizer.normalize(prompt)
        matches = self.scanner.scan(prompt, include_candidates=True)
        context, ctx_spans = context_hits(self.scanner, nt.text)
        covered = [(m.start, m.end) for m in matches] + [nt.span(s, e) for s, e in ctx_spans]
        franchises = set(context) | {m.franchise for m in matches if m.confirmed}
        return nt, covered, franchises

    def _add(self, normalized: str, source: str, surface: str, prompt: str, franchises: set[str], **fields) -> Proposal:
        key = (normalized, source, fields.get("target") or "")
        p = self.proposals.get(key)
        if p is None:
            p = self.proposals[key] = Proposal(normalized, source, **fields)
        p.count += 1
        p.surfaces[surface] += 1
        p.franchises.update(franchises)
        if len(p.examples) < self.max_examples and prompt not in p.examples:
            p.examples.append(prompt)
        return p

    def _near_misses(self, prompt: str, nt, covered, franchises) -> None:
        fuzzy, common = self.c.fuzzy, self.c.common
        if not len(fuzzy):
            return
        t = nt.text
        for word, s, e in latin_words(t):
            if word in common:
                continue
            os_, oe = nt.span(s, e)
            if any(os_ < b and a < oe for a, b in covered):
                continue
            key = phonetic_key(word)
            best = None
            for ti in fuzzy.candidates(word, key, depth=2) | self._gram_candidates(word):
                alias = fuzzy.words[ti]
                limit = max_distance(len(alias))
                if limit == 0:
                    continue
                if fuzzy.verify(word, key, ti) is not None:
                    best = None  # the scanner accepts this spelling; nothing is missing
                    break
                d = OSA.distance(word, alias, score_cutoff=limit + 1)
                if d > limit + 1:
                    continue
                score = fuzz.ratio(word, alias)
                if score < MIN_SCORE:
                    continue
                if best is None or (score, -d) > (best[0], -best[1]):
                    best = (score, d, limit, ti)
            if best is None:
                continue
            score, d, limit, ti = best
            owners = [e for e in self.c.entries[fuzzy.patterns[ti]] if e.char >= 0 and e.kind != CUE]
            if len({e.char for e in owners}) != 1:
                continue  # a pattern shared by two characters says nothing about which one was meant
            en = owners[0]
            cid = self.c.characters[en.char].id
            self._add(word, NEAR_MISS, prompt[os_:oe], prompt, franchises, target=cid, target_alias=en.alias,
                      score=round(score, 1), distance=d, limit=limit)

    def _gram_candidates(self, word: str) -> set[int]:
        grams = set(_trigrams(word))
        counts: Counter = Counter()
        for g in grams:
            counts.update(self._grams.get(g, ()))
        need = max(2, len(grams) // 2)
        return {t for t, n in counts.items() if n >= need}

    def _entities(self, name: str, labels: frozenset, prompt: str, doc, nt, covered, franchises) -> None:
        for ent in doc.ents:
            if ent.label_ not in labels:
                continue
            s, e = ent.start_char, ent.end_char
            text = prompt[s:e].strip()
            if len(text) < 2 or not any(ch.isalpha() for ch in text):
                continue
            if any(s < b and a < e for a, b in covered):
                continue
            n = self.c.normalizer.normalize(text).text.strip()
            if n in self.known:
                continue  # a known alias that the scanner rejected here (boundary, ambiguity): see `explain`
            p = self._add(n, f"{NER}:{name}", text, prompt, franchises)
            p.labels[ent.label_] += 1

    # -- driving ------------------------------------------------------------------------------------------
    def run(self, prompts: Iterable[str]) -> list[Proposal]:
        nlps = {}
        for name in self.pipelines:
            import spacy

            nlps[name] = spacy.load(name)
        queues: dict[str, list[tuple[str, object, list, set]]] = {name: [] for name in nlps}
        for prompt in prompts:
            if not prompt or not prompt.strip():
                continue
            self.prompts += 1
            nt, covered, franchises = self._covered(prompt)
            if self.near_miss:
                self._near_misses(prompt, nt, covered, franchises)
            for name, labels, which in PIPELINES:
                if name not in nlps:
                    continue
                if (which == "ja" and not _is_japanese(prompt)) or (which == "latin" and not _is_latin(prompt)):
                    continue
                if self.ner_limit is not None and self.ner_prompts.get(name, 0) >= self.ner_limit:
                    continue
                self.ner_prompts[name] = self.ner_prompts.get(name, 0) + 1
                queues[name].append((prompt, nt, covered, franchises))
                if len(queues[name]) >= 64:
                    self._flush(name, nlps[name], queues[name])
        for name, q in queues.items():
            self._flush(name, nlps[name], q)
        return self.ranked()

    def _flush(self, name: str, nlp, queue: list) -> None:
        if not queue:
            return
        labels = next(lb for n, lb, _w in PIPELINES if n == name)
        for (prompt, nt, covered, franchises), doc in zip(queue, nlp.pipe(q[0] for q in queue)):
            self._entities(name, labels, prompt, doc, nt, covered, franchises)
        queue.clear()

    def ranked(self, min_count: int = 1) -> list[Proposal]:
        out = [p for p in self.proposals.values() if p.count >= min_count]
        out.sort(key=lambda p: (-p.count, -(p.score or 0), p.source, p.normalized))
        return out


def discover(
    scanner: Scanner,
    prompts: Iterable[str],
    *,
    near_miss: bool = True,
    pipelines: Optional[Sequence[str]] = None,
    ner_limit: Optional[int] = None,
    min_count: int = 1,
) -> list[Proposal]:
    """Proposals ranked by frequency. `pipelines=None` uses every installed optional pipeline; [] none."""
    d = Discoverer(scanner, near_miss=near_miss, pipelines=available_pipelines() if pipelines is None else pipelines, ner_limit=ner_limit)
    d.run(prompts)
    return d.ranked(min_count)


def read_prompts(lines: Iterable[str]) -> Iterator[str]:
    """Prompts from JSONL lines ({"prompt": ...}; "text" also accepted) or plain text lines."""
    for line in lines:
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                value = obj.get("prompt", obj.get("text"))
                if isinstance(value, str):
                    yield value
            continue
        yield line


def format_text(proposals: list[Proposal], *, prompts: int, limit: Optional[int] = None) -> str:
    lines = [f"{prompts} prompt(s), {len(proposals)} proposal(s)"]
    for p in proposals[:limit] if limit else proposals:
        head = f"{p.count:5d}  {p.text!r}"
        if p.source == NEAR_MISS:
            head += f"  near-miss of {p.target} {p.target_alias!r} (ratio {p.score}, {p.distance} edits, limit {p.limit})"
        else:
            head += f"  {p.source} {'/'.join(p.labels)}"
        if p.franchises:
            head += "  context: " + ", ".join(f"{f} x{n}" for f, n in p.franchises.most_common(3))
        lines.append(head)
        if p.command():
            lines.append(f"       $ {p.command()}")
        for ex in p.examples[:1]:
            lines.append(f"       e.g. {ex[:100]!r}")
    return "\n".join(lines)
