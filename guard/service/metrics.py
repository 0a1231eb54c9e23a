"""Prometheus metrics in the text exposition format (0.0.4), hand-written: no client library needed."""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Optional

ACTIONS = ("allow", "tag", "rewrite", "reject")
SOURCES = ("api", "middleware")
# Check latency buckets in seconds: the engine takes tens to hundreds of microseconds on typical prompts.
BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _labels(**labels: Any) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                break
        self.total += 1
        self.sum += value


class Metrics:
    """Counters and a latency histogram. Thread-safe; `observe_*` costs about a microsecond."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.decisions: Counter[tuple[str, str]] = Counter()
        self.problems: Counter[tuple[str, int, str]] = Counter()
        self.engine_errors: Counter[tuple[str, bool]] = Counter()
        self.upstream_errors: Counter[str] = Counter()
        self.ledger_errors: Counter[str] = Counter()
        self.latency: dict[str, Histogram] = {s: Histogram() for s in SOURCES}

    # -- observing --------------------------------------------------------------------------------------

    def observe_decision(self, source: str, action: str, seconds: float) -> None:
        with self._lock:
            self.decisions[(source, action)] += 1
            self.latency.setdefault(source, Histogram()).observe(seconds)

    def observe_problem(self, source: str, status: int, code: str) -> None:
        with self._lock:
            self.problems[(source, status, code)] += 1

    def observe_engine_error(self, source: str, fail_open: bool) -> None:
        with self._lock:
            self.engine_errors[(source, fail_open)] += 1

    def observe_upstream_error(self, kind: str) -> None:
        with self._lock:
            self.upstream_errors[kind] += 1

    def observe_ledger_error(self, source: str) -> None:
        with self._lock:
            self.ledger_errors[source] += 1

    def on_event(self, event: Any) -> None:
        """`GuardMiddleware(on_event=metrics.on_event)`."""
        if event.kind == "decision" and event.decision is not None:
            self.observe_decision("middleware", event.decision.action, event.seconds)
        elif event.kind == "problem":
            self.observe_problem("middleware", event.status or 0, event.code or "")
        elif event.kind == "engine-error":
            self.observe_engine_error("middleware", event.fail_open)
        elif event.kind == "ledger-error":
            self.observe_ledger_error("middleware")

    # -- rendering --------------------------------------------------------------------------------------

    def render(self, *, holder: Any = None, audit: Any = None, ledger: Any = None) -> str:
        out: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")

        with self._lock:
            family("guard_decisions_total", "counter", "Guard decisions by action and by where the check came from.")
            for source in SOURCES:
                for action in ACTIONS:
                    out.append(f"guard_decisions_total{_labels(source=source, action=action)} {self.decisions[(source, action)]}")
            for (source, action), n in sorted(self.decisions.items()):
                if source not in SOURCES or action not in ACTIONS:
                    out.append(f"guard_decisions_total{_labels(source=source, action=action)} {n}")

            family("guard_check_duration_seconds", "histogram", "Time to decide one request (parse excluded), in seconds.")
            for source, hist in sorted(self.latency.items()):
                cumulative = 0
                for bound, count in zip(hist.buckets, hist.counts):
                    cumulative += count
                    out.append(f"guard_check_duration_seconds_bucket{_labels(source=source, le=bucket_label(bound))} {cumulative}")
                out.append(f"guard_check_duration_seconds_bucket{_labels(source=source, le='+Inf')} {hist.total}")
                out.append(f"guard_check_duration_seconds_sum{_labels(source=source)} {repr(hist.sum)}")
                out.append(f"guard_check_duration_seconds_count{_labels(source=source)} {hist.total}")

            family("guard_problems_total", "counter", "Requests answered with an error before a decision (bad input), by status and problem code.")
            for (source, status, code), n in sorted(self.problems.items()):
                out.append(f"guard_problems_total{_labels(source=source, status=status, code=code)} {n}")

            family("guard_engine_errors_total", "counter", "Engine failures; fail_open=\"true\" ones let the request through unchecked.")
            for (source, fail_open), n in sorted(self.engine_errors.items()):
                out.append(f"guard_engine_errors_total{_labels(source=source, fail_open=str(fail_open).lower())} {n}")

            family("guard_upstream_errors_total", "counter", "Proxy mode: upstream requests that failed, by kind.")
            for kind, n in sorted(self.upstream_errors.items()):
                out.append(f"guard_upstream_errors_total{_labels(kind=kind)} {n}")

            family("guard_ledger_errors_total", "counter", "Decisions the revenue-share ledger did not take (the request went on; see the log).")
            for source in SOURCES:
                out.append(f"guard_ledger_errors_total{_labels(source=source)} {self.ledger_errors[source]}")
            for source, n in sorted(self.ledger_errors.items()):
                if source not in SOURCES:
                    out.append(f"guard_ledger_errors_total{_labels(source=source)} {n}")

        if holder is not None and hasattr(holder, "generation"):
            family("guard_engine_generation", "gauge", "Generation of the engine in use; increases on every successful reload.")
            out.append(f"guard_engine_generation {holder.generation}")
            family("guard_engine_loaded_timestamp_seconds", "gauge", "Unix time the engine in use was loaded.")
            out.append(f"guard_engine_loaded_timestamp_seconds {repr(float(holder.loaded_at))}")
            family("guard_reloads_total", "counter", "Reload attempts by result.")
            out.append(f'guard_reloads_total{{result="ok"}} {holder.reloads_ok}')
            out.append(f'guard_reloads_total{{result="error"}} {holder.reloads_failed}')
        stats = getattr(ledger, "stats", None) if ledger is not None else None
        if stats is not None:
            family("guard_ledger_records_total", "counter", "Ledger records by outcome: recorded (queued), skipped (not revenue-bearing), "
                   "inserted, duplicates (a repeated decision or request id), rejected and dropped (lost, see the log).")
            for result in ("recorded", "skipped", "inserted", "duplicates", "rejected", "dropped"):
                out.append(f"guard_ledger_records_total{_labels(result=result)} {getattr(stats, result, 0)}")
            family("guard_ledger_write_errors_total", "counter", "Failed ledger write attempts (each retried).")
            out.append(f"guard_ledger_write_errors_total {getattr(stats, 'write_errors', 0)}")
            family("guard_ledger_pending", "gauge", "Ledger records queued and not yet committed.")
            out.append(f"guard_ledger_pending {getattr(ledger, 'pending', 0)}")
        if audit is not None:
            family("guard_audit_records_dropped_total", "counter", "Audit records dropped because the sink could not keep up.")
            out.append(f"guard_audit_records_dropped_total {audit.dropped}")
            family("guard_audit_sink_errors_total", "counter", "Audit records the sink failed to write.")
            out.append(f"guard_audit_sink_errors_total {audit.errors}")
        return "\n".join(out) + "\n"


def parse_text(text: str) -> dict[str, float]:
    """Parse exposition text into {'name{labels}': value} (for tests and quick scripts)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        values[key] = float(value)
    return values


def bucket_label(bound: Optional[float]) -> str:
    if bound is None:
        return "+Inf"
    return _num(bound) if bound >= 1 else repr(bound)
