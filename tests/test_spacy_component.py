"""guard.spacy_component: the matcher as a spaCy pipeline component (`nlp.add_pipe("character_guard")`)."""
from __future__ import annotations

import pytest

spacy = pytest.importorskip("spacy")

from guard.spacy_component import LABEL, SPANS_KEY  # noqa: E402


@pytest.fixture(scope="module")
def nlp_en(guard):
    nlp = spacy.blank("en")
    nlp.add_pipe("character_guard")
    return nlp


def test_factory_is_registered_through_the_entry_point():
    assert "character_guard" in spacy.registry.factories.get_all() or spacy.blank("en").add_pipe("character_guard")


def test_entities_carry_label_and_kb_id(nlp_en):
    doc = nlp_en("Pikachu and Eevee at the beach with Hu Tao")
    assert [(e.text, e.label_, e.kb_id_) for e in doc.ents] == [
        ("Pikachu", LABEL, "pokemon/pikachu"),
        ("Eevee", LABEL, "pokemon/eevee"),
        ("Hu Tao", LABEL, "genshin_impact/hutao"),
    ]


def test_match_details_and_exact_spans(nlp_en):
    doc = nlp_en("P1kachu's hat")
    (span,) = doc.spans[SPANS_KEY]
    m = span._.character_match
    assert m.character_id == "pokemon/pikachu"
    assert doc.text[m.start : m.end] == m.surface


def test_unspaced_chinese_expands_to_tokens():
    nlp = spacy.blank("zh")  # character segmentation, no extra dependency
    nlp.add_pipe("character_guard")
    doc = nlp("雷丘在京都骑滑板车")
    assert [(e.text, e.kb_id_) for e in doc.ents] == [("雷丘", "pokemon/raichu")]


def test_ambiguous_names_without_context_are_not_entities(nlp_en):
    assert list(nlp_en("ditto for the next shot").ents) == []
    nlp = spacy.blank("en")
    nlp.add_pipe("character_guard", config={"include_candidates": True})
    doc = nlp("ditto for the next shot")
    assert list(doc.ents) == []  # still not an entity
    assert [s._.character_match.confirmed for s in doc.spans[SPANS_KEY]] == [False]


def test_keeps_other_entities_that_do_not_overlap(nlp_en):
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "GPE", "pattern": "Kyoto"}, {"label": "ORG", "pattern": "Pikachu"}])
    nlp.add_pipe("character_guard")
    doc = nlp("Pikachu racing through Kyoto")
    assert sorted((e.text, e.label_) for e in doc.ents) == [("Kyoto", "GPE"), ("Pikachu", LABEL)]


def test_custom_lexicon(mini_lexicon_dir, mini_guard):
    nlp = spacy.blank("en")
    nlp.add_pipe("character_guard", config={"lexicons": [str(mini_lexicon_dir)]})
    doc = nlp("Zorblax meets Pikachu")
    assert [(e.text, e.kb_id_) for e in doc.ents] == [("Zorblax", "testverse/zorblax")]
