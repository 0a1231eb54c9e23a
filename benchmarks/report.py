"""Turns the benchmark results into results.json, results.md and latency_vs_size.png, and the summary block of
the README (between README_BEGIN and README_END)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

GROUPS = ("latin", "japanese", "chinese", "korean")

# Targets from issue 6.
TARGETS = {
    "check_p50_bundled_us": 100.0,
    "check_p99_bundled_us": 500.0,
    "check_p99_1m_us": 1000.0,
    "startup_from_cache_s": 1.0,
    "memory_1m_mb": 500.0,
    "middleware_added_p50_us": 150.0,
    "middleware_rps_share": 0.60,
}


def _get(d: Optional[dict], *keys, default=None):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def q(stats: Optional[dict], which: str) -> Optional[float]:
    """p50 / p99 of a latency summary: the best-of-passes figure when there is one, else over all samples."""
    if not isinstance(stats, dict):
        return None
    v = stats.get(f"best_{which}_us")
    return v if v is not None else stats.get(f"{which}_us")


def _fmt_us(v) -> str:
    if v is None:
        return "–"
    if v >= 999_500:
        return f"{v / 1_000_000:.1f} s"
    if v >= 9_995:
        return f"{v / 1000:.0f} ms"
    if v >= 999.5:
        return f"{v / 1000:.2f} ms"
    return f"{v:.0f} µs" if v >= 9.95 else f"{v:.1f} µs"


def _ratio(a, b) -> Optional[float]:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _fmt_ratio(r: Optional[float]) -> str:
    if r is None:
        return "–"
    if r >= 1:
        return f"{r:.1f}×"
    if r >= 0.1:
        return f"{r:.2f}×"
    return f"1/{1 / r:,.0f}" if r > 0 else "–"


def _pf(ok: Optional[bool]) -> str:
    return "–" if ok is None else ("PASS" if ok else "FAIL")


def _target_cells(t: dict) -> tuple[str, str]:
    """The measured value and the limit of a target, formatted for its unit."""
    m, unit = t["measured"], t["unit"]
    if unit == "µs":
        return _fmt_us(m), _fmt_us(t["limit"])
    if unit == "":
        return ("–" if m is None else f"{m:.0%}"), f"{t['limit']:.0%}"
    measured = "–" if m is None else f"{m:,.2f} {unit}" if unit == "s" else f"{m:,.0f} {unit}"
    return measured, f"{t['limit']:g} {unit}"


def evaluate_targets(results: dict) -> list[dict]:
    sizes = results["sizes"]
    bundled = next((s for s in sizes if s["label"] == "bundled"), None)
    biggest = next((s for s in sizes if s["label"] == "1M"), None)
    out = []

    def add(name, measured, target, ok, unit, note=""):
        out.append({"target": name, "measured": measured, "limit": target, "unit": unit, "pass": ok, "note": note})

    for which, tgt in (("p50", TARGETS["check_p50_bundled_us"]), ("p99", TARGETS["check_p99_bundled_us"])):
        st = _get(bundled, "serve", "latency", "check", "all")
        v = q(st, which)
        note = f"all samples: {_fmt_us(st.get(which + '_us'))}" if st else "check not measured"
        add(f"check on bundled lexicons, {which}", v, tgt, None if v is None else v <= tgt, "µs", note)
    st = _get(biggest, "serve", "latency", "check", "all")
    v = q(st, "p99")
    note = f"all samples: {_fmt_us(st.get('p99_us'))}" if st else "1M size not run"
    add("check at 1M aliases, p99", v, TARGETS["check_p99_1m_us"], None if v is None else v <= TARGETS["check_p99_1m_us"], "µs", note)
    for s in sizes:
        v = _get(s, "serve", "startup_s")
        note = _get(s, "serve", "startup_note", default="")
        add(f"start-up from the compiled cache ({s['label']})", v, TARGETS["startup_from_cache_s"], None if v is None else v <= TARGETS["startup_from_cache_s"], "s", note)
    v = _get(biggest, "serve", "guard_rss_mb")
    add("memory at 1M aliases (RSS after start-up from cache)", v, TARGETS["memory_1m_mb"], None if v is None else v <= TARGETS["memory_1m_mb"], "MB", "" if biggest else "1M size not run")
    http = results.get("http") or {}
    if http.get("ran"):
        rounds = http.get("per_round") or []
        v = http["added_p50_us"]
        add("middleware: added median latency", v, TARGETS["middleware_added_p50_us"], v <= TARGETS["middleware_added_p50_us"], "µs",
            _per_round_note([r["added_p50_us"] for r in rounds], "{:.0f}", " µs"))
        v = http["rps_share"]
        add("middleware: share of bare app requests/s", v, TARGETS["middleware_rps_share"], v >= TARGETS["middleware_rps_share"], "",
            _per_round_note([r["rps_share"] for r in rounds], "{:.0%}"))
    else:
        why = http.get("reason", "not run")
        add("middleware: added median latency", None, TARGETS["middleware_added_p50_us"], None, "µs", why)
        add("middleware: share of bare app requests/s", None, TARGETS["middleware_rps_share"], None, "", why)
    return out


def _middleware_sentence(http: dict) -> str:
    """The middleware's two figures in a sentence, each with its rounds when there was more than one."""
    rounds = http.get("per_round") or []
    added_note = _per_round_note([r["added_p50_us"] for r in rounds], "{:.0f}", " µs")
    share_note = _per_round_note([r["rps_share"] for r in rounds], "{:.0%}")
    return (f"Added median latency: {http['added_p50_us']:.0f} µs" + (f" ({added_note})" if added_note else "")
            + f"; requests/s kept: {http['rps_share']:.0%}" + (f" ({share_note})" if share_note else "") + ".")


def _per_round_note(values: list[Optional[float]], fmt: str, unit: str = "") -> str:
    """The rounds' figures ("rounds: 168, 139, 146 µs") when there was more than one round; a round without a
    figure shows as "–"."""
    if len(values) < 2:
        return ""
    return "rounds: " + ", ".join("–" if v is None else fmt.format(v) for v in values) + unit


def _size_rows(results: dict) -> list[str]:
    rows = [
        "| lexicon | aliases | compiled patterns | method | p50 | p99 | p99, all samples | p50 Latin | p50 Japanese | p50 Chinese | p50 Korean | p99 Latin | p99 Japanese | p99 Chinese | p99 Korean |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in results["sizes"]:
        lat = _get(s, "serve", "latency", default={}) or {}
        aliases = _get(s, "build", "lexicon_aliases")
        patterns = _get(s, "build", "compiled_patterns")
        first = True
        for m in ("scan", "check", "ahocorasick", "flashtext", "regex"):
            if m not in lat:
                continue
            a = lat[m]
            cells = [_fmt_us(q(a.get(g), "p50")) for g in GROUPS] + [_fmt_us(q(a.get(g), "p99")) for g in GROUPS]
            head = f"| {s['label']} | {aliases:,} | {patterns:,} " if first and aliases else "| | | "
            rows.append(f"{head}| {m} | {_fmt_us(q(a['all'], 'p50'))} | {_fmt_us(q(a['all'], 'p99'))} | {_fmt_us(a['all']['p99_us'])} | " + " | ".join(cells) + " |")
            first = False
        for m, d in (_get(s, "serve", "sampled", default={}) or {}).items():
            rows.append(f"| | | | {m} ({d['prompts']} prompts, 1 pass) | {_fmt_us(d[m]['p50_us'])} | {_fmt_us(d[m]['p99_us'])} | {_fmt_us(d[m]['p99_us'])} | | | | | | | | |")
    return rows


def _ratio_rows(results: dict) -> list[str]:
    rows = [
        "| lexicon | scan p50 ÷ ahocorasick | scan p50 ÷ flashtext | scan p50 ÷ regex | scan p50 ÷ rapidfuzz | check p50 ÷ ahocorasick | check p50 ÷ flashtext |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in results["sizes"]:
        r = s.get("ratios", {})
        rows.append(
            f"| {s['label']} | {_fmt_ratio(r.get('scan/ahocorasick'))} | {_fmt_ratio(r.get('scan/flashtext'))} | "
            f"{_fmt_ratio(r.get('scan/regex'))} | {_fmt_ratio(r.get('scan/rapidfuzz'))} | "
            f"{_fmt_ratio(r.get('check/ahocorasick'))} | {_fmt_ratio(r.get('check/flashtext'))} |"
        )
    return rows


def compute_ratios(size: dict) -> dict:
    """p50 ratios of the guard against the baselines measured in the same process (sampled ones on the same
    prompt sample)."""
    lat = _get(size, "serve", "latency", default={}) or {}
    out = {}
    for m in ("scan", "check"):
        mine = q(_get(lat, m, "all"), "p50")
        for b in ("ahocorasick", "flashtext", "regex"):
            r = _ratio(mine, q(_get(lat, b, "all"), "p50"))
            if r is not None:
                out[f"{m}/{b}"] = round(r, 3)
    for b, d in (_get(size, "serve", "sampled", default={}) or {}).items():
        r = _ratio(d["scan_same_prompts"]["p50_us"], d[b]["p50_us"])
        if r is not None:
            out[f"scan/{b}"] = round(r, 5)
    return out


def markdown(results: dict) -> str:
    meta = results["meta"]
    lines = [
        "# character-guard benchmark results",
        "",
        f"Run {meta['started']} ({'quick' if meta['quick'] else 'full'} mode, {meta['elapsed_s']:.0f} s) on {meta['machine']}; "
        f"Python {meta['python']}; text kernels: {meta.get('text_kernels', 'not recorded')}. Single thread, after one warm-up pass; figures are per prompt. "
        f"Corpus: {results['corpus']['prompts']} prompts of {results['corpus']['min_chars']}–{results['corpus']['max_chars']} characters "
        f"(mean {results['corpus']['mean_chars']}), {results['corpus']['with_characters']} with characters; "
        + ", ".join(f"{g} {n}" for g, n in results["corpus"]["by_group"].items())
        + ".",
        "",
        "## Targets",
        "",
        "| target | measured | limit | result | note |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for t in results["targets"]:
        ms, lim = _target_cells(t)
        lines.append(f"| {t['target']} | {ms} | {lim} | {_pf(t['pass'])} | {t['note']} |")
    lines += ["", "## Latency per prompt", ""] + _size_rows(results)
    lines += ["", "## Ratios against the baselines (p50, same run)", ""] + _ratio_rows(results)
    lines += [
        "",
        "p50 and p99 are over the prompts, each prompt timed in every pass and taken at its fastest pass (this removes most "
        "of the time other processes take on a shared machine; slow prompts stay slow). \"p99, all samples\" counts every "
        "timed call. Sampled baselines (too slow for the whole corpus) ran once on an evenly spread sample of prompts, and "
        "their ratios compare with the guard's scan on the same sample.",
        "",
        "Below 1 the guard is faster (0.50× = half the time, 1/20 = twenty times faster); above 1 it is slower (2.0× = twice the time).",
        "",
        "## Build, start-up and memory",
        "",
        "| lexicon | aliases | files | parse YAML | compile | write cache | build total | peak RSS (build) | start-up from cache | of which hashing files | of which parse | of which cache load | RSS after start-up |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in results["sizes"]:
        b, v = s.get("build", {}), s.get("serve", {})
        lines.append(
            f"| {s['label']} | {b.get('lexicon_aliases', 0):,} | {b.get('lexicon_files', '–')} | {b.get('parse_s', '–')} s | {b.get('compile_s', '–')} s | "
            f"{b.get('cache_write_s', '–')} s | {b.get('build_s', '–')} s | {b.get('peak_rss_mb', '–')} MB | {v.get('startup_s', '–')} s | "
            f"{v.get('startup_digest_s', '–')} s | {v.get('startup_parse_s', '–')} s | {v.get('startup_cache_load_s', '–')} s | {v.get('guard_rss_mb', '–')} MB |"
        )
    lines += ["", "Baseline build time (same names, in the serve process):", "", "| lexicon | names | " + " | ".join(("ahocorasick", "flashtext", "regex", "rapidfuzz")) + " |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for s in results["sizes"]:
        bb = _get(s, "serve", "baseline_build", default={}) or {}
        cells = []
        for name in ("ahocorasick", "flashtext", "regex", "rapidfuzz"):
            d = bb.get(name)
            cells.append("–" if d is None else f"skipped: {d['skipped']}" if "skipped" in d else f"{d['build_s']} s")
        lines.append(f"| {s['label']} | {_get(s, 'serve', 'baseline_names', default=0):,} | " + " | ".join(cells) + " |")
    lines += ["", "## What each method reports", "", "Share of prompts on which the method reports anything:", "",
              "| lexicon | method | prompts with characters | prompts without characters |", "| --- | --- | ---: | ---: |"]
    for s in results["sizes"]:
        for name, d in (_get(s, "serve", "hit_rates", default={}) or {}).items():
            lines.append(f"| {s['label']} | {name} | {d['with_characters_hit']:.0%} | {d['without_characters_hit']:.0%} |")
    http = results.get("http") or {}
    lines += ["", "## Through the middleware", ""]
    if http.get("ran"):
        sb, sg = http["summary"]["bare"], http["summary"]["guarded"]
        lines += [
            f"{http['server']}; load generator: {http['load_generator']} on loopback; {http['prompts']} corpus prompts as JSON bodies; "
            + (f"{http['rounds']} rounds of {http['duration_s']} s per measurement. The table gives each server's median "
             "over the rounds; the added latency and the share are the medians of each round's own difference and ratio "
             "(the servers of a round ran one after the other)."
             if http["rounds"] > 1 else f"1 round of {http['duration_s']} s per measurement."),
            "",
            "| app | p50, 1 connection | p99, 1 connection | requests/s, " + f"{http['connections']} connections | p99, {http['connections']} connections |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| bare JSON echo | {_fmt_us(sb['p50_us_1conn'])} | {_fmt_us(sb['p99_us_1conn'])} | {sb['rps']:,.0f} | {_fmt_us(sb['p99_us_loaded'])} |",
            f"| with GuardMiddleware | {_fmt_us(sg['p50_us_1conn'])} | {_fmt_us(sg['p99_us_1conn'])} | {sg['rps']:,.0f} | {_fmt_us(sg['p99_us_loaded'])} |",
        ]
        sd = http["summary"].get("decided")
        if sd:
            lines.append(
                f"| with GuardMiddleware, decisions made in advance | {_fmt_us(sd['p50_us_1conn'])} | {_fmt_us(sd['p99_us_1conn'])} | {sd['rps']:,.0f} | {_fmt_us(sd['p99_us_loaded'])} |"
            )
        lines += ["", _middleware_sentence(http)]
        if sd:
            lines.append(
                f"Of the added latency, the middleware and its JSON handling take {http['added_p50_us_middleware_only']:.0f} µs "
                f"(the server with decisions made in advance keeps {http['rps_share_middleware_only']:.0%} of the requests/s), "
                f"and the check, as it runs inside the server, {http['added_p50_us_check_in_server']:.0f} µs."
            )
    else:
        lines.append(f"Not run: {http.get('reason', 'not requested')}.")
    notes = results.get("notes") or []
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    lines += ["", "![latency vs lexicon size](latency_vs_size.png)", ""]
    return "\n".join(lines)


README_BEGIN = "<!-- benchmark-results:begin (written by python -m benchmarks.run; edit the text around it) -->"
README_END = "<!-- benchmark-results:end -->"

_SHORT_METHODS = ("scan", "check", "ahocorasick", "flashtext", "regex", "rapidfuzz")


def _p50_p99(lat: dict, sampled: dict, method: str) -> str:
    if method in lat:
        a = lat[method]["all"]
        return f"{_fmt_us(q(a, 'p50'))} / {_fmt_us(q(a, 'p99'))}"
    if method in sampled:
        d = sampled[method]
        return f"{_fmt_us(d[method]['p50_us'])} / {_fmt_us(d[method]['p99_us'])} ({d['prompts']} prompts)"
    return "–"


def readme_block(results: dict) -> str:
    """The README's summary of a run: targets, latency by lexicon size, ratios and the middleware, as markdown
    between the README markers. The full tables stay in results.md."""
    meta = results["meta"]
    commit = f", commit {meta['commit']}" if meta.get("commit") else ""
    lines = [
        README_BEGIN,
        f"Run {meta['started']}{commit} (`{meta.get('command', 'python -m benchmarks.run')}`, {meta['elapsed_s']:.0f} s) on "
        f"{meta['machine']}; Python {meta['python']}; text kernels: {meta.get('text_kernels', 'not recorded')}.",
        "",
        "| target | measured | limit | result |",
        "| --- | ---: | ---: | --- |",
    ]
    for t in results["targets"]:
        ms, lim = _target_cells(t)
        result = _pf(t["pass"])
        lines.append(f"| {t['target']} | {ms} | {lim} | {'**FAIL**' if result == 'FAIL' else result} |")
    lines += [
        "",
        "Latency per prompt, p50 / p99:",
        "",
        "| lexicon | aliases (patterns) | " + " | ".join(f"`{m}`" if m in ("scan", "check") else m for m in _SHORT_METHODS) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in _SHORT_METHODS) + " |",
    ]
    for size in results["sizes"]:
        lat = _get(size, "serve", "latency", default={}) or {}
        sampled = _get(size, "serve", "sampled", default={}) or {}
        aliases, patterns = _get(size, "build", "lexicon_aliases"), _get(size, "build", "compiled_patterns")
        count = f"{aliases:,} ({patterns:,})" if aliases and patterns else "–"
        lines.append(f"| {size['label']} | {count} | " + " | ".join(_p50_p99(lat, sampled, m) for m in _SHORT_METHODS) + " |")
    lines += ["", "Ratios of the guard's p50 to each baseline's, same run (below 1: the guard is faster):", ""]
    lines += _ratio_rows(results)
    http = results.get("http") or {}
    if http.get("ran"):
        lines += ["", f"Through the middleware ({http['server']}, {http['load_generator']}, median of {http['rounds']} rounds):", "",
                  f"| app | p50, 1 connection | p99, 1 connection | requests/s, {http['connections']} connections |",
                  "| --- | ---: | ---: | ---: |"]
        names = {"bare": "bare JSON echo", "guarded": "with `GuardMiddleware`", "decided": "with `GuardMiddleware`, decisions made in advance"}
        for kind, name in names.items():
            sm = http["summary"].get(kind)
            if sm:
                lines.append(f"| {name} | {_fmt_us(sm['p50_us_1conn'])} | {_fmt_us(sm['p99_us_1conn'])} | {sm['rps']:,.0f} |")
        lines += ["", _middleware_sentence(http)]
    lines.append(README_END)
    return "\n".join(lines)


def _block_span(path: Path, text: str) -> tuple[int, int]:
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < 0 or end < begin:
        missing = "in the wrong order" if begin >= 0 and end >= 0 else f"missing: {README_BEGIN if begin < 0 else README_END}"
        raise ValueError(f"{path}: the benchmark block markers are {missing}")
    return begin, end + len(README_END)


def check_readme(path: Path) -> None:
    """ValueError (naming the file) unless `path` has the benchmark block markers, in order; OSError if it
    cannot be read."""
    _block_span(path, path.read_text(encoding="utf-8"))


def update_readme(path: Path, results: dict) -> None:
    """Replaces the block between README_BEGIN and README_END in `path` with this run's summary; the rest of
    the file is kept as it is. ValueError (naming the file) when the markers are missing or out of order."""
    text = path.read_text(encoding="utf-8")
    begin, end = _block_span(path, text)
    new = text[:begin] + readme_block(results) + text[end:]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(path)


def plot(results: dict, path: Path) -> Optional[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]'): no plot"
    sizes = [s for s in results["sizes"] if _get(s, "build", "lexicon_aliases")]
    if not sizes:
        return "no sizes to plot"
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    styles = {
        "check": ("tab:red", "o"), "scan": ("tab:orange", "o"), "ahocorasick": ("tab:green", "s"),
        "flashtext": ("tab:blue", "^"), "regex": ("tab:purple", "v"), "rapidfuzz": ("tab:gray", "D"),
    }
    for ax, which in zip(axes, ("p50", "p99")):
        for m, (color, marker) in styles.items():
            xs, ys = [], []
            for s in sizes:
                v = q(_get(s, "serve", "latency", m, "all"), which)
                if v is None:
                    v = _get(s, "serve", "sampled", m, m, which + "_us")
                if v is not None:
                    xs.append(s["build"]["lexicon_aliases"])
                    ys.append(v)
            if xs:
                sampled = [bool(_get(s, "serve", "sampled", m)) for s in sizes if _get(s, "serve", "sampled", m) or _get(s, "serve", "latency", m)]
                label = m + (" (prompt sample)" if sampled and all(sampled) else " (prompt sample at large sizes)" if any(sampled) else "")
                ax.plot(xs, ys, marker=marker, color=color, label=label)
        if which == "p50":
            ax.axhline(TARGETS["check_p50_bundled_us"], color="tab:red", ls=":", lw=1, label="check p50 target (bundled)")
        else:
            ax.axhline(TARGETS["check_p99_bundled_us"], color="tab:red", ls=":", lw=1, label="check p99 target (bundled)")
            ax.axhline(TARGETS["check_p99_1m_us"], color="black", ls="--", lw=1, label="p99 target at 1M")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("aliases in the lexicon")
        ax.set_title(f"{which} latency per prompt")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("µs per prompt (log)")
    axes[0].legend(fontsize=7, loc="upper left")
    axes[1].legend(fontsize=7, loc="upper left")
    fig.suptitle("character-guard: latency vs lexicon size (single thread)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def write(results: dict, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for s in results["sizes"]:
        s["ratios"] = compute_ratios(s)
    results["targets"] = evaluate_targets(results)
    paths = {"json": out_dir / "results.json", "md": out_dir / "results.md", "png": out_dir / "latency_vs_size.png"}
    note = plot(results, paths["png"])
    if note:
        results.setdefault("notes", []).append(note)
    paths["json"].write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    paths["md"].write_text(markdown(results), encoding="utf-8")
    return paths
