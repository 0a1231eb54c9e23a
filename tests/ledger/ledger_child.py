"""A guard process for the crash and multi-process tests: `python ledger_child.py MODE URL N [NAME]`.

It prints one line per milestone (flushed), so the parent knows what was acknowledged before it kills it.

durable     record N decisions with durable=True, printing `ack I` after each returns; then wait to be killed
buffered    buffered with a 1 h flush interval: record N//2, flush(), print `flushed K`, record the rest, print
            `queued N`; then wait to be killed (nothing after the flush can have been committed)
background  buffered with a 50 ms flush interval: record N, print `queued N`; then wait to be killed
exit-return / exit-exception / exit-sysexit
            buffered with a 1 h flush interval: record N, print `queued N`, then end that way without close()
write       record N decisions with request ids req-0..req-N-1 and decision ids NAME-I, then close()
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

from guard.ledger import Ledger  # noqa: E402
from guard.models import CheckContext  # noqa: E402
from ledgerkit import decision, tag  # noqa: E402


def dec(i, name="dec"):
    return decision(f"{name}-{i}", tag("acme", "a1", rate=0.1), tag("bolt", "b1", "b2", rate=0.2))


def wait_forever() -> None:
    sys.stdin.read()  # the parent never closes it; it kills us


def main() -> None:
    mode, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    name = sys.argv[4] if len(sys.argv) > 4 else "dec"
    ctx = CheckContext(region="JP", commercial=True)
    if mode == "durable":
        ledger = Ledger.open(url, durable=True)
        for i in range(n):
            ledger.record(dec(i), ctx, f"req-{i}")
            print(f"ack {i}", flush=True)
        wait_forever()
    elif mode == "buffered":
        ledger = Ledger.open(url, flush_interval=3600, batch_size=1_000_000)
        k = n // 2
        for i in range(k):
            ledger.record(dec(i), ctx, f"req-{i}")
        ledger.flush()
        print(f"flushed {k}", flush=True)
        for i in range(k, n):
            ledger.record(dec(i), ctx, f"req-{i}")
        print(f"queued {n}", flush=True)
        wait_forever()
    elif mode == "background":
        ledger = Ledger.open(url, flush_interval=0.05)
        for i in range(n):
            ledger.record(dec(i), ctx, f"req-{i}")
        print(f"queued {n}", flush=True)
        wait_forever()
    elif mode.startswith("exit-"):
        ledger = Ledger.open(url, flush_interval=3600, batch_size=1_000_000)
        for i in range(n):
            ledger.record(dec(i), ctx, f"req-{i}")
        print(f"queued {n}", flush=True)
        if mode == "exit-exception":
            raise RuntimeError("unhandled, on purpose")
        if mode == "exit-sysexit":
            sys.exit(3)
    elif mode == "write":
        with Ledger.open(url, flush_interval=0.01, batch_size=50) as ledger:
            for i in range(n):
                ledger.record(dec(i, name), ctx, f"req-{i}")
        print("closed", flush=True)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
