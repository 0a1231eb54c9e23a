"""Rightsholder reports over a period of the ledger.

For the records in [start, end) (times in UTC), optionally only the share lines of one rightsholder:

decisions
    how many recorded generations feature the rightsholder / character / fall in the region or use
    (a generation featuring two characters of one rightsholder counts once for that rightsholder).
share
    the share-weighted count: the sum of the fractions of generations credited by the split rule. Over all
    rightsholders it equals the number of generations.
royalty
    the sum of share x share_rate: what is owed, in units of "revenue of one generation", if each credited
    fraction is paid at the rate of the tag it came from.

Breakdowns: per rightsholder, per (rightsholder, character), per region (the user's country; `null` when
the caller gave none) and per use (`commercial` or `personal`, from `CheckContext.commercial`).

Dates on the command line: ``YYYY-MM-DD`` means whole UTC days, both ends included (``--from 2025-01-01
--to 2025-01-31`` is all of January); an ISO datetime (``2025-01-01T12:00:00+09:00``, naive = UTC) is an exact
instant, start included and end excluded.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel

from guard.ledger.errors import LedgerError
from guard.ledger.records import to_utc

DIGITS = 6  # report figures are rounded to this many decimals

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

When = Union[str, date, datetime]


def parse_when(value: When, *, end: bool = False) -> datetime:
    """A period bound as an aware UTC datetime. A bare date is a whole day: its start, or (end=True) the start
    of the next day, so that an end date is included."""
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, date):
        day = value
    else:
        text = str(value).strip()
        if _DATE_ONLY.match(text):
            try:
                day = date.fromisoformat(text)
            except ValueError as exc:
                raise LedgerError(f"not a date: {text!r} ({exc})") from None
        else:
            try:
                return to_utc(datetime.fromisoformat(text))
            except ValueError:
                raise LedgerError(f"not a date or ISO datetime: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM])") from None
    if end:
        day = day + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


class Totals(BaseModel):
    decisions: int
    share: float
    royalty: float


class RightsholderRow(BaseModel):
    rightsholder: str
    characters: int
    decisions: int
    share: float
    royalty: float


class CharacterRow(BaseModel):
    rightsholder: str
    character_id: str
    decisions: int
    share: float
    royalty: float


class RegionRow(BaseModel):
    region: Optional[str]
    decisions: int
    share: float
    royalty: float


class UseRow(BaseModel):
    use: Literal["commercial", "personal"]
    decisions: int
    share: float
    royalty: float


class Report(BaseModel):
    start: datetime
    end: datetime
    rightsholder: Optional[str] = None
    ledger: str = ""
    totals: Totals
    by_rightsholder: list[RightsholderRow]
    by_character: list[CharacterRow]
    by_region: list[RegionRow]
    by_use: list[UseRow]

    # -- output -------------------------------------------------------------------------------------------
    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    CSV_COLUMNS: ClassVar[tuple[str, ...]] = ("section", "rightsholder", "character_id", "region", "use", "characters", "decisions", "share", "royalty")

    def to_csv(self) -> str:
        """One table: a `section` column (total, rightsholder, character, region, use) says what a row groups by."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.CSV_COLUMNS)
        t = self.totals
        w.writerow(["total", self.rightsholder or "", "", "", "", "", t.decisions, _num(t.share), _num(t.royalty)])
        for r in self.by_rightsholder:
            w.writerow(["rightsholder", r.rightsholder, "", "", "", r.characters, r.decisions, _num(r.share), _num(r.royalty)])
        for c in self.by_character:
            w.writerow(["character", c.rightsholder, c.character_id, "", "", "", c.decisions, _num(c.share), _num(c.royalty)])
        for g in self.by_region:
            w.writerow(["region", "", "", g.region or "", "", "", g.decisions, _num(g.share), _num(g.royalty)])
        for u in self.by_use:
            w.writerow(["use", "", "", "", u.use, "", u.decisions, _num(u.share), _num(u.royalty)])
        return buf.getvalue()

    def to_table(self) -> str:
        out: list[str] = []
        who = f" for {self.rightsholder}" if self.rightsholder else ""
        out.append(f"Attribution report{who}: {_ts(self.start)} to {_ts(self.end)} (end excluded, UTC)")
        if self.ledger:
            out.append(f"Ledger: {self.ledger}")
        t = self.totals
        out.append(f"Generations: {t.decisions}   share-weighted: {_num(t.share)}   royalty: {_num(t.royalty)}")
        num = ["decisions", "share", "royalty"]
        out += _section("By rightsholder", ["rightsholder", "characters"] + num,
                        [[r.rightsholder, r.characters, r.decisions, _num(r.share), _num(r.royalty)] for r in self.by_rightsholder])
        out += _section("By character", ["rightsholder", "character"] + num,
                        [[c.rightsholder, c.character_id or "(any)", c.decisions, _num(c.share), _num(c.royalty)] for c in self.by_character])
        out += _section("By region", ["region"] + num,
                        [[g.region or "(unknown)", g.decisions, _num(g.share), _num(g.royalty)] for g in self.by_region])
        out += _section("By use", ["use"] + num,
                        [[u.use, u.decisions, _num(u.share), _num(u.royalty)] for u in self.by_use])
        return "\n".join(out) + "\n"

    def render(self, fmt: str) -> str:
        if fmt == "json":
            return self.to_json() + "\n"
        if fmt == "csv":
            return self.to_csv()
        if fmt == "table":
            return self.to_table()
        raise ValueError(f"unknown report format {fmt!r} (table, csv, json)")


def _num(x: float) -> str:
    return f"{x:.{DIGITS}f}"


def _ts(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _section(title: str, header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["", title]
    if not rows:
        return lines + ["  (none)"]
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [i >= len(header) - 3 or header[i] == "characters" for i in range(len(header))]
    for k, r in enumerate(cells):
        parts = [c.rjust(widths[i]) if numeric[i] else c.ljust(widths[i]) for i, c in enumerate(r)]
        lines.append("  " + "  ".join(parts).rstrip())
        if k == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return lines


def _r(x: Any) -> float:
    return round(float(x or 0.0), DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


def build_report(store: Any, start: When, end: When, rightsholder: Optional[str] = None) -> Report:
    """Aggregate the committed records of `store` in [start, end); a bare date as `end` includes that day."""
    lo, hi = parse_when(start), parse_when(end, end=True)
    if lo >= hi:
        raise LedgerError(f"empty period: {_ts(lo)} is not before {_ts(hi)}")
    g = store.aggregate(lo, hi, rightsholder)
    (tot,) = g["totals"]
    by_rh = sorted(
        (RightsholderRow(rightsholder=r[0], characters=int(r[1]), decisions=int(r[2]), share=_r(r[3]), royalty=_r(r[4]))
         for r in g["by_rightsholder"]),
        key=lambda x: (-x.share, x.rightsholder),
    )
    by_char = sorted(
        (CharacterRow(rightsholder=r[0], character_id=r[1], decisions=int(r[2]), share=_r(r[3]), royalty=_r(r[4]))
         for r in g["by_character"]),
        key=lambda x: (x.rightsholder, -x.share, x.character_id),
    )
    by_region = sorted(
        (RegionRow(region=r[0], decisions=int(r[1]), share=_r(r[2]), royalty=_r(r[3])) for r in g["by_region"]),
        key=lambda x: (x.region is None, x.region or ""),
    )
    by_use = sorted(
        (UseRow(use="commercial" if r[0] else "personal", decisions=int(r[1]), share=_r(r[2]), royalty=_r(r[3]))
         for r in g["by_use"]),
        key=lambda x: x.use,
    )
    return Report(
        start=lo, end=hi, rightsholder=rightsholder, ledger=getattr(store, "url", ""),
        totals=Totals(decisions=int(tot[0]), share=_r(tot[1]), royalty=_r(tot[2])),
        by_rightsholder=by_rh, by_character=by_char, by_region=by_region, by_use=by_use,
    )
