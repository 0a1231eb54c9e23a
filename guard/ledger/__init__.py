"""Revenue-share attribution ledger.

    from guard.ledger import Ledger

    ledger = Ledger.open("guard-ledger.sqlite3")            # or "postgresql://user:pw@host/db"
    ledger.record(decision, context, request_id="req-123")   # no-op (returns None) unless revenue-bearing
    ...
    ledger.close()                                           # also done at interpreter exit

See `guard.ledger.ledger` for buffered vs durable writing and what a crash can lose, `guard.ledger.split` for
the split rules, `guard.ledger.records` for which decisions are recorded and `guard.ledger.report` for reports.
"""
from guard.ledger.errors import LedgerClosedError, LedgerError, LedgerWriteError
from guard.ledger.ledger import Ledger, LedgerStats, open_ledger
from guard.ledger.records import UNATTRIBUTED, AttributionRecord, ShareLine, build_record, is_revenue_bearing
from guard.ledger.report import Report, build_report, parse_when
from guard.ledger.split import SPLIT_RULES, Claim, SplitRule, register_split_rule

__all__ = [
    "AttributionRecord",
    "Claim",
    "Ledger",
    "LedgerClosedError",
    "LedgerError",
    "LedgerStats",
    "LedgerWriteError",
    "Report",
    "SPLIT_RULES",
    "ShareLine",
    "SplitRule",
    "UNATTRIBUTED",
    "build_record",
    "build_report",
    "is_revenue_bearing",
    "open_ledger",
    "parse_when",
    "register_split_rule",
]
