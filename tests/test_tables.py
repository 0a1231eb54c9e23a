"""Column storage of the compiled lexicon: the sequences read back exactly what was stored, pickle as blocks,
and build rows only when asked."""
from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from guard.compiler import CharacterInfo, Entry
from guard.tables import CodedColumn, Records, RowTable, StringColumn, WordScores, WordSet

WORDS = ["pikachu", "", "ピカチュウ", "皮卡丘", "피카츄", "𠮷野家", "hu tao", "é"]


def test_string_column_reads_back_every_string():
    col = StringColumn.of(WORDS)
    assert len(col) == len(WORDS)
    assert [col[i] for i in range(len(WORDS))] == WORDS
    assert list(col) == WORDS
    assert col[-1] == "é" and col[-len(WORDS)] == "pikachu"
    assert col[2:5] == WORDS[2:5] and col[::3] == WORDS[::3]
    assert col == WORDS and col == StringColumn.of(WORDS) and col != WORDS[:-1]
    with pytest.raises(IndexError):
        col[len(WORDS)]


def test_string_column_pickles_as_one_string():
    col = StringColumn.of(WORDS)
    blob = pickle.dumps(col, protocol=pickle.HIGHEST_PROTOCOL)
    assert pickle.loads(blob) == col
    assert len(StringColumn.of([])) == 0 and list(StringColumn.of([])) == []


def test_string_column_longest():
    assert StringColumn.of(WORDS).longest() == max(map(len, WORDS))
    assert StringColumn.of(["", "ab", "x" * 300, "c"]).longest() == 300  # wider offsets than one byte
    assert StringColumn.of([]).longest() == 0 and StringColumn.of([""]).longest() == 0


GROUPS = [
    [Entry("name", 0, "pokemon", "Pikachu", "en", "lexicon name", None)],
    [
        Entry("name", 1, "genshin_impact", "Amber", "en", "lexicon name", "an everyday word"),
        Entry("cue", -1, "genshin_impact", "Teyvat", "", "franchise cue", None),
    ],
    [Entry("variant", 0, "pokemon", "ピカチュウ", "ja", "romaji", None)],
]


def _rows(groups):
    return ([(e.kind, e.char, e.franchise, e.alias, e.lang, e.note, e.ambiguous) for e in es] for es in groups)


def test_row_table_rebuilds_the_entries():
    table = RowTable.build(_rows(GROUPS), Entry, ints=(1,))
    assert len(table) == 3
    assert [table[g] for g in range(3)] == [tuple(es) for es in GROUPS]
    assert list(table) == [tuple(es) for es in GROUPS]
    assert table[-1] == tuple(GROUPS[-1]) and table[0:2] == [tuple(es) for es in GROUPS[:2]]
    assert table[1][0].ambiguous == "an everyday word" and table[1][1].ambiguous is None
    assert table[1][1].char == -1
    with pytest.raises(IndexError):
        table[3]
    restored = pickle.loads(pickle.dumps(table, protocol=pickle.HIGHEST_PROTOCOL))
    assert list(restored) == list(table)


def test_row_table_remembers_a_bounded_number_of_groups(monkeypatch):
    table = RowTable.build(_rows(GROUPS), Entry, ints=(1,))
    list(table)
    assert table._memo == {}  # reading the whole table does not fill the memo
    monkeypatch.setattr(RowTable, "MEMO_LIMIT", 2)
    first = table[0]
    assert table[0] is first  # remembered
    table[1]
    table[2]  # the memo was full: it starts again
    assert len(table._memo) <= 2
    assert table[0] == first


def test_row_table_groups_read_each_group_once_as_a_dict():
    table = RowTable.build(_rows(GROUPS), Entry, ints=(1,))
    groups = table.groups
    assert isinstance(groups, dict) and len(groups) == 0
    assert groups[1] == tuple(GROUPS[1]) and groups[1] is table[1]  # one memo behind both
    assert groups[-1] == tuple(GROUPS[-1])
    assert groups[np.int64(2)] == tuple(GROUPS[2])  # numpy's integers index too
    with pytest.raises(IndexError):
        groups[3]
    with pytest.raises(TypeError):
        groups["1"]
    assert 3 not in groups and "1" not in groups  # failed reads keep nothing
    assert table[-1] is table[2] is groups[-1]  # one group read once, whichever way it is asked for


def test_row_table_memo_limit_of_the_instance_or_a_subclass():
    class Small(RowTable):
        MEMO_LIMIT = 1

    table = Small.build(_rows(GROUPS), Entry, ints=(1,))
    for g in range(3):
        table[g]
    assert len(table._memo) == 1
    table = RowTable.build(_rows(GROUPS), Entry, ints=(1,))
    table.MEMO_LIMIT = 2
    for g in range(3):
        table[g]
    assert len(table._memo) <= 2


def test_a_dropped_row_table_is_freed_without_the_cycle_collector():
    import gc
    import weakref

    table = RowTable.build(_rows(GROUPS), Entry, ints=(1,))
    table[0]
    groups, gone = table.groups, weakref.ref(table)
    enabled = gc.isenabled()
    gc.disable()
    try:
        del table
        assert gone() is None
    finally:
        if enabled:
            gc.enable()
    assert groups[0] == tuple(GROUPS[0])  # what was read stays readable
    with pytest.raises(ReferenceError):
        groups[1]


def test_coded_column_maps_codes_to_values():
    col = CodedColumn.of(["latin", "kata"], [0, 1, 1, 0])
    assert list(col) == ["latin", "kata", "kata", "latin"] and col[2] == "kata" and len(col) == 4
    assert col[1:3] == ["kata", "kata"]
    assert list(pickle.loads(pickle.dumps(col))) == list(col)


CHARACTERS = [
    CharacterInfo("pokemon/pikachu", "pokemon", "The Pokémon Company", None),
    CharacterInfo("genshin_impact/hutao", "genshin_impact", "HoYoverse", "the 77th Director"),
    CharacterInfo("solo/ピカ", "solo", None, ""),
]


def test_records_read_back_each_record_as_stored():
    records = Records.of(((c.id, c.franchise, c.rightsholder, c.descriptor) for c in CHARACTERS), CharacterInfo)
    assert len(records) == 3 and list(records) == CHARACTERS
    assert [records[i] for i in range(3)] == CHARACTERS and records[-1] == CHARACTERS[-1]
    assert records[1:] == CHARACTERS[1:]
    assert records[0].rightsholder == "The Pokémon Company" and records[2].rightsholder is None
    assert records[2].descriptor == ""  # an empty string is not None
    assert records[1] is records[1]  # read once
    with pytest.raises(IndexError):
        records[3]
    restored = pickle.loads(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))
    assert list(restored) == CHARACTERS and restored[0].id == "pokemon/pikachu"
    empty = Records.of([], CharacterInfo)
    assert len(empty) == 0 and list(empty) == []


def test_word_set_answers_as_a_frozenset():
    words = ["pikachu", "amber", "ピカチュウ", "a", "", "zzz", "amber"]
    ws = WordSet.of(words)
    ref = frozenset(words)
    assert len(ws) == len(ref) and set(ws) == ref and list(ws) == sorted(ref)
    for w in [*words, "ambe", "amberr", "b", "ピカ", "\U0001f600"]:
        assert (w in ws) == (w in ref), w
    assert 3 not in ws and None not in ws and b"amber" not in ws
    assert ws == ref and ws & {"amber", "zorblax"} == {"amber"} and isinstance(ws & {"a"}, frozenset)
    assert {"amber", "zorblax"} - ws == {"zorblax"} and {"zorblax", "a"}.difference(ws) == {"zorblax"}
    restored = pickle.loads(pickle.dumps(ws, protocol=pickle.HIGHEST_PROTOCOL))
    assert restored == ref and "pikachu" in restored
    empty = WordSet.of(())
    assert len(empty) == 0 and "a" not in empty and "" not in empty


@pytest.mark.parametrize("size", [1, WordSet.STRIDE - 1, WordSet.STRIDE, WordSet.STRIDE + 1, 5 * WordSet.STRIDE, 3000])
def test_word_set_lookups_across_its_blocks(size):
    """The lookup searches a list of every STRIDE-th word, then one block: every word is found, at a block's start,
    inside it and at its end, and no word between two of them is."""
    rng = random.Random(size)
    words = sorted({"".join(rng.choice("abkz") for _ in range(rng.randint(1, 7))) for _ in range(size * 3)})[:size]
    ws, ref = WordSet.of(words), frozenset(words)
    probes = words + ["", "0", "~", "abkzabkz"] + ["".join(rng.choice("abkz") for _ in range(rng.randint(0, 8))) for _ in range(500)]
    probes += [w + "a" for w in words] + [w[:-1] for w in words]
    for w in probes:
        assert (w in ws) == (w in ref), w
    assert [ws._index(w) for w in words] == list(range(len(words)))


def test_word_scores_answer_as_a_dict():
    scores = {"polygon": 35, "electric": 48, "a": 0, "ピカ": 255, "zebra": 31}
    ws = WordScores.of(scores)
    assert dict(ws) == scores and len(ws) == 5 and list(ws) == sorted(scores)
    assert ws["electric"] == 48 and ws.get("ピカ") == 255 and ws.get("zorblax") is None and ws.get("a") == 0
    assert "polygon" in ws and "polygo" not in ws and 5 not in ws
    with pytest.raises(KeyError):
        ws["zorblax"]
    assert set(ws.keys()) == set(scores) and sorted(ws.values()) == sorted(scores.values())
    restored = pickle.loads(pickle.dumps(ws, protocol=pickle.HIGHEST_PROTOCOL))
    assert dict(restored) == scores
    with pytest.raises(ValueError):
        WordScores.of({"loud": 256})
