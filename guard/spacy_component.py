"""The character matcher as a spaCy pipeline component.

    import spacy
    nlp = spacy.blank("en")
    nlp.add_pipe("character_guard")          # bundled lexicons
    doc = nlp("Pikachu and Eevee at the beach")
    [(e.text, e.label_, e.kb_id_) for e in doc.ents]
    # [('Pikachu', 'CHARACTER', 'pokemon/pikachu'), ('Eevee', 'CHARACTER', 'pokemon/eevee')]

The component scans `doc.text` with the same engine as `Guard.scan`, so what it finds does not depend on the
pipeline's tokenizer. Mentions inside a token (unspaced Japanese or Chinese, where a blank pipeline may not
split at the name) are expanded to the covering tokens for `doc.ents`; the exact character spans and the full
match details stay available in `doc.spans["characters"]` and `span._.character_match`.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional, Sequence

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

LABEL = "CHARACTER"
SPANS_KEY = "characters"

if not Span.has_extension("character_match"):
    Span.set_extension("character_match", default=None)


@lru_cache(maxsize=8)
def _guard_for(lexicons: Optional[tuple[str, ...]]):
    from guard.engine import Guard, default_guard

    return Guard.from_paths(list(lexicons)) if lexicons else default_guard()


class CharacterGuardComponent:
    def __init__(self, nlp: Language, name: str, *, lexicons: Optional[Sequence[str]] = None, include_candidates: bool = False, overwrite_ents: bool = False):
        self.name = name
        self.guard = _guard_for(tuple(lexicons) if lexicons else None)
        self.include_candidates = include_candidates
        self.overwrite_ents = overwrite_ents

    def __call__(self, doc: Doc) -> Doc:
        matches = self.guard.scan(doc.text, include_candidates=self.include_candidates)
        spans: list[Span] = []
        for m in matches:
            span = doc.char_span(m.start, m.end, label=LABEL, kb_id=m.character_id, alignment_mode="expand")
            if span is None:
                continue
            span._.character_match = m
            spans.append(span)
        doc.spans[SPANS_KEY] = spans
        confirmed = [s for s in spans if s._.character_match.confirmed]
        if self.overwrite_ents:
            doc.ents = filter_spans(confirmed)
        else:
            # Keep the pipeline's own entities where they do not overlap a character.
            others = [e for e in doc.ents if all(e.end <= s.start or e.start >= s.end for s in confirmed)]
            doc.ents = filter_spans(confirmed) + others
        return doc


@Language.factory(
    "character_guard",
    default_config={"lexicons": None, "include_candidates": False, "overwrite_ents": False},
)
def make_character_guard(nlp: Language, name: str, lexicons: Optional[list[str]], include_candidates: bool, overwrite_ents: bool) -> CharacterGuardComponent:
    return CharacterGuardComponent(nlp, name, lexicons=lexicons, include_candidates=include_candidates, overwrite_ents=overwrite_ents)
