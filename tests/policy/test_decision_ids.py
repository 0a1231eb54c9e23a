"""guard.policy.engine.new_decision_id: random UUID4s, drawn from os.urandom in batches."""
from __future__ import annotations

import os
import threading
import uuid

import pytest

from guard.policy import engine


def test_ids_are_uuid4_hex_and_unique_across_batches():
    ids = [engine.new_decision_id() for _ in range(3 * engine._ID_BATCH + 7)]
    assert len(set(ids)) == len(ids)
    for i in ids:
        u = uuid.UUID(hex=i)
        assert u.hex == i and len(i) == 32
        assert u.version == 4 and u.variant == uuid.RFC_4122


def test_threads_never_share_an_id():
    engine._forget_ids()
    out: list[list[str]] = [[] for _ in range(4)]

    def take(k: int) -> None:
        out[k].extend(engine.new_decision_id() for _ in range(2000))

    threads = [threading.Thread(target=take, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for part in out for i in part]
    assert len(every) == 8000 and len(set(every)) == 8000


def test_threads_that_empty_the_pool_while_it_is_refilled_still_get_ids():
    """With threads switching every microsecond, others empty the pool between a refill and the refiller's own
    pop; the refiller keeps one id of its batch, so no call fails."""
    import sys

    engine._forget_ids()
    out: list[list[str]] = [[] for _ in range(8)]
    errors: list[BaseException] = []

    def take(k: int) -> None:
        try:
            out[k].extend(engine.new_decision_id() for _ in range(20_000))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=take, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors
    every = [i for part in out for i in part]
    assert len(every) == 160_000 and len(set(every)) == 160_000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_repeat_its_parents_ids():
    engine._forget_ids()
    engine.new_decision_id()  # the parent now holds a batch of ids it has not handed out
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next ids to the parent
        try:
            os.close(read)
            os.write(write, ",".join(engine.new_decision_id() for _ in range(5)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        child = f.read().split(",")
    os.waitpid(pid, 0)
    parent = [engine.new_decision_id() for _ in range(5)]
    assert len(child) == 5 and not set(child) & set(parent)
