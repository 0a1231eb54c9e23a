"""Audit log: one JSON line per decision, written off the event loop.

`emit()` only puts the record on a bounded queue (a few microseconds); a daemon thread serializes and
writes it, flushing after every batch. If the sink stalls long enough to fill the queue, records are
dropped and counted (`dropped`) rather than blocking request handling.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional, TextIO, Union

log = logging.getLogger("guard.audit")

AuditTarget = Union[str, "os.PathLike[str]", TextIO, Callable[[dict], Any]]

_STOP = object()
_REOPEN = object()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuditLog:
    """A sink for audit records.

    `target`: a file path (appended to, created if missing), "-" for standard output, an open text stream,
    or a callable that receives each record as a dict. Callables run on the writer thread, never on the
    event loop, so they may block briefly; they must be thread-safe with respect to the rest of the app.
    `include_prompts=False` drops the prompt text (`prompt`, `original_prompt`, match surfaces) from records.
    """

    def __init__(self, target: AuditTarget, *, include_prompts: bool = True, max_queue: int = 10_000) -> None:
        self.include_prompts = include_prompts
        self.dropped = 0
        self.written = 0
        self.errors = 0
        self._path: Optional[Path] = None
        self._stream: Optional[TextIO] = None
        self._callable: Optional[Callable[[dict], Any]] = None
        self._owns_stream = False
        if callable(target) and not hasattr(target, "write"):
            self._callable = target
            self.description = getattr(target, "__qualname__", repr(target))
        elif hasattr(target, "write"):
            self._stream = target  # type: ignore[assignment]
            self.description = getattr(target, "name", repr(target))
        elif str(target) == "-":
            self._stream = sys.stdout
            self.description = "stdout"
        else:
            self._path = Path(os.fspath(target))  # type: ignore[arg-type]
            self._stream = self._open()
            self._owns_stream = True
            self.description = str(self._path)
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=max_queue)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="guard-audit", daemon=True)
        self._thread.start()

    # -- producer side (any thread, typically the event loop) --------------------------------------------

    def emit(self, record: dict) -> None:
        """Queue one record. Never blocks. A pydantic model under "decision" is serialized on the writer thread."""
        if self._closed:
            return
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("audit queue full (%s): %d record(s) dropped so far", self.description, self.dropped)

    def __call__(self, record: dict) -> None:
        self.emit(record)

    def flush(self, timeout: Optional[float] = 5.0) -> bool:
        """Wait until every queued record has been written. Returns False on timeout."""
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def reopen(self) -> None:
        """Reopen the file (after log rotation). No-op for streams and callables."""
        if self._path is not None:
            self._queue.put(_REOPEN)

    def close(self, timeout: Optional[float] = 5.0) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:  # pragma: no cover
            pass
        self._thread.join(timeout)

    # -- writer thread -------------------------------------------------------------------------------------

    def _open(self) -> TextIO:
        assert self._path is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        return open(self._path, "a", encoding="utf-8", buffering=1 << 16)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while len(batch) < 512:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = False
            for entry in batch:
                if entry is _STOP:
                    stop = True
                elif entry is _REOPEN:
                    self._reopen_now()
                elif isinstance(entry, threading.Event):
                    self._flush_stream()
                    entry.set()
                else:
                    self._write(entry)
            self._flush_stream()
            if stop:
                if self._owns_stream and self._stream is not None:
                    self._stream.close()
                return

    def _write(self, record: dict) -> None:
        try:
            decision = record.get("decision")
            if decision is not None and hasattr(decision, "model_dump"):
                record = {**record, "decision": decision.model_dump(mode="json")}
            if not self.include_prompts:
                record = _redact(record)
            if self._callable is not None:
                self._callable(record)
            else:
                assert self._stream is not None
                self._stream.write(json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")
            self.written += 1
        except Exception:  # a broken sink must not take the writer thread down
            self.errors += 1
            if self.errors == 1 or self.errors % 1000 == 0:
                log.exception("audit sink %s failed (%d error(s) so far)", self.description, self.errors)

    def _flush_stream(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush()
            except Exception:  # pragma: no cover
                self.errors += 1

    def _reopen_now(self) -> None:
        try:
            new = self._open()
        except OSError:
            log.exception("cannot reopen audit log %s; keeping the old file", self._path)
            return
        old, self._stream = self._stream, new
        if old is not None:
            old.close()


def _redact(record: dict) -> dict:
    record = dict(record)
    decision = record.get("decision")
    if isinstance(decision, dict):
        decision = dict(decision)
        decision.pop("prompt", None)
        decision.pop("original_prompt", None)
        decision["matches"] = [{k: v for k, v in m.items() if k != "surface"} for m in decision.get("matches", [])]
        record["decision"] = decision
    record.pop("prompt", None)
    return record


def as_audit_sink(target: Union[None, AuditLog, AuditTarget]) -> Optional[AuditLog]:
    if target is None or isinstance(target, AuditLog):
        return target
    return AuditLog(target)
