"""Detection quality on a labelled eval set (default: ../shared/eval/dev.jsonl).

    python benchmarks/eval_dev.py [CASES.jsonl] [--misses] [--json]

Prints per-category recall, exact-set accuracy and false-positive case rate, overall precision and recall,
and the share of negative prompts with any detection: the same figures as shared/eval/score.py.
It also checks that every reported offset slices the original prompt to the reported surface text.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASES = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def evaluate(guard, cases: list[dict]) -> tuple[dict, list[tuple]]:
    cat = defaultdict(lambda: {"n": 0, "tp": 0, "exp": 0, "exact": 0, "fp_cases": 0})
    tot = {"tp": 0, "pred": 0, "exp": 0}
    misses, bad_offsets = [], 0
    for case in cases:
        matches = guard.scan(case["prompt"])
        for m in matches:
            if case["prompt"][m.start : m.end] != m.surface:
                bad_offsets += 1
        pred = {m.character_id for m in matches}
        exp = set(case["expected"])
        k = cat[case["category"]]
        k["n"] += 1
        k["tp"] += len(pred & exp)
        k["exp"] += len(exp)
        k["exact"] += pred == exp
        k["fp_cases"] += bool(pred - exp)
        tot["tp"] += len(pred & exp)
        tot["pred"] += len(pred)
        tot["exp"] += len(exp)
        if pred != exp:
            misses.append((case["category"], case["lang"], case["prompt"], sorted(exp), sorted(pred)))
    out = {"cases": len(cases), "bad_offsets": bad_offsets, "categories": {}}
    for name, k in sorted(cat.items()):
        out["categories"][name] = {
            "n": k["n"],
            "recall": round(k["tp"] / k["exp"], 4) if k["exp"] else None,
            "exact": round(k["exact"] / k["n"], 4),
            "fp_case_rate": round(k["fp_cases"] / k["n"], 4),
        }
    out["precision"] = round(tot["tp"] / tot["pred"], 4) if tot["pred"] else 1.0
    out["recall"] = round(tot["tp"] / tot["exp"], 4) if tot["exp"] else None
    out["negative_fp_rate"] = out["categories"].get("negative", {}).get("fp_case_rate")
    return out, misses


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="?", default=str(DEFAULT_CASES))
    ap.add_argument("--lexicon", action="append", default=None)
    ap.add_argument("--misses", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from guard import Guard

    guard = Guard.from_paths(args.lexicon)
    cases = [json.loads(line) for line in open(args.cases, encoding="utf-8") if line.strip()]
    out, misses = evaluate(guard, cases)
    if args.misses:
        for m in misses:
            print(m)
    if args.json:
        print(json.dumps(out))
    else:
        for name, k in out["categories"].items():
            print(f"{name:12s} n={k['n']:4d} recall={k['recall']} exact={k['exact']} fp_case_rate={k['fp_case_rate']}")
        print(
            f"overall precision={out['precision']} recall={out['recall']} "
            f"negative_fp_rate={out['negative_fp_rate']} bad_offsets={out['bad_offsets']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
