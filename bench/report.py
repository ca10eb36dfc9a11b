"""results.json, results.md (the table and the targets) and chart.png from one run's summaries."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.phases import DESCRIPTIONS, FLOORS, PHASES, SYSTEMS

LOOKUPS_AND_GETS = ("okta_lookup", "entra_lookup", "get_user", "filter_username", "filter_externalid",
                    "filter_email", "get_group", "get_group_members")
LISTS = ("list_first", "list_deep")
WRITES_VS_COMPARATOR = ("okta_create", "entra_create", "patch_user_okta", "patch_user_entra")


def index(rows: list[dict[str, Any]]) -> dict[tuple[str, int, str], dict[str, Any]]:
    return {(r["system"], r["size"], r["phase"]): r for r in rows}


def fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def status_text(statuses: dict[str, int]) -> str:
    if len(statuses) == 1:
        return next(iter(statuses))
    return ", ".join(f"{code}x{n}" for code, n in statuses.items())


def ok2xx(row: dict[str, Any] | None) -> bool:
    return bool(row) and all(code.startswith("2") for code in row["statuses"])


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def markdown_table(rows: list[dict[str, Any]], sizes: list[int]) -> str:
    by = index(rows)
    out = []
    for size in sizes:
        out.append(f"\n### N = {size:,} users\n")
        out.append("| phase | system | p50 ms | p95 ms | req/s | queries | status | "
                   + " | ".join(f"p50 x {floor}" for floor in FLOORS) + " |")
        out.append("|---|---|---:|---:|---:|---:|---|" + "---:|" * len(FLOORS))
        for phase in PHASES:
            floors = [by.get((floor, size, phase)) for floor in FLOORS]
            for system in SYSTEMS:
                row = by.get((system, size, phase))
                if row is None:
                    continue
                xs = []
                for floor, floor_row in zip(FLOORS, floors, strict=True):
                    # A floor is not compared with itself nor the higher floor (bare+auth+log is x bare).
                    lower = system in FLOORS and FLOORS.index(system) <= FLOORS.index(floor)
                    x = ratio(row["p50_ms"], floor_row["p50_ms"]) if floor_row and not lower else None
                    xs.append(f"{fmt(x, 2)}x" if x is not None else "")
                capped = " (time cap)" if row.get("capped") else ""
                if row.get("unexpected") and ok2xx(row):
                    capped += f" ({row['unexpected']} without the expected body)"
                out.append(
                    f"| {phase} | {system} | {fmt(row['p50_ms'], 2)} | {fmt(row['p95_ms'], 2)} | "
                    f"{fmt(row['rps'])} | {fmt(row['queries'], 0)} | {status_text(row['statuses'])}{capped} | "
                    + " | ".join(xs) + " |"
                )
    return "\n".join(out) + "\n"


def evaluate_targets(rows: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """The issue's targets, checked at the largest size of the run."""
    by = index(rows)

    def get(system: str, phase: str) -> dict[str, Any] | None:
        return by.get((system, size, phase))

    targets = []

    def add(target: str, phase: str, value: str, holds: bool | None, note: str = "", floor: str = "") -> None:
        targets.append({"target": target, "phase": phase, "value": value, "holds": holds, "note": note,
                        "floor": floor})

    for phase in (*LOOKUPS_AND_GETS, *LISTS):
        mine = get("scim_portal", phase)
        for floor in FLOORS:
            base = get(floor, phase)
            if not mine or not base:
                continue
            x = ratio(mine["p50_ms"], base["p50_ms"])
            label = "list page ≤ 2x floor page + COUNT" if phase in LISTS else "lookup/GET ≤ 2x floor view"
            add(label, phase, f"{fmt(x, 2)}x ({fmt(mine['p50_ms'], 2)} vs {fmt(base['p50_ms'], 2)} ms)",
                x is not None and x <= 2.0 and ok2xx(mine), floor=floor)
    mine = get("scim_portal", "get_group")
    if mine:
        add("GET group without members < 10 ms", "get_group", f"{fmt(mine['p50_ms'], 2)} ms",
            mine["p50_ms"] is not None and mine["p50_ms"] < 10 and ok2xx(mine))
    for big, small in (("group_add_100", "group_add_100_1k"), ("group_remove_100", "group_remove_100_1k")):
        a, b = get("scim_portal", big), get("scim_portal", small)
        if not a:
            continue
        add("100-member PATCH < 40 ms", big, f"{fmt(a['p50_ms'], 2)} ms",
            a["p50_ms"] is not None and a["p50_ms"] < 40 and ok2xx(a))
        if b:
            x = ratio(a["p50_ms"], b["p50_ms"])
            add("100-member PATCH ≤ 1.2x the same on a 1k group", big,
                f"{fmt(x, 2)}x ({fmt(a['p50_ms'], 2)} vs {fmt(b['p50_ms'], 2)} ms)",
                x is not None and x <= 1.2 and ok2xx(a))
    for phase in WRITES_VS_COMPARATOR:
        a, b = get("scim_portal", phase), get("django-scim2", phase)
        if not a or not b:
            continue
        if not ok2xx(b):
            add("≥ 1.5x django-scim2 throughput", phase,
                f"{fmt(a['rps'])} req/s; django-scim2 answered {status_text(b['statuses'])}",
                ok2xx(a), "no like-for-like figure: the comparator does not perform this request")
            continue
        x = ratio(a["rps"], b["rps"])
        add("≥ 1.5x django-scim2 throughput", phase, f"{fmt(x, 2)}x ({fmt(a['rps'])} vs {fmt(b['rps'])} req/s)",
            x is not None and x >= 1.5 and ok2xx(a))
    return targets


def targets_table(targets: list[dict[str, Any]], size: int) -> str:
    out = [f"\n### Targets at N = {size:,}\n", "| target | phase | floor | scim_portal | holds |",
           "|---|---|---|---|---|"]
    for t in targets:
        mark = "yes" if t["holds"] else "**no**"
        note = f" ({t['note']})" if t["note"] else ""
        out.append(f"| {t['target']} | {t['phase']} | {t.get('floor') or '-'} | {t['value']}{note} | {mark} |")
    return "\n".join(out) + "\n"


def obligations_table(rows: list[dict[str, Any]], size: int) -> str:
    """Per phase: what the obligations (token lookup, log row) add to the bare view, and where
    scim_portal stands between the two floors."""
    by = index(rows)
    out = [f"\n### The obligations at N = {size:,} (p50 ms)\n",
           "| phase | bare | bare+auth+log | added | of which auth | of which log | scim_portal | "
           "scim_portal - bare+auth+log |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for phase in PHASES:
        bare, obliged, mine = (by.get((s, size, phase)) for s in ("bare", "bare+auth+log", "scim_portal"))
        if not bare or not obliged:
            continue
        timing = obliged.get("server_timing_ms") or {}
        added = obliged["p50_ms"] - bare["p50_ms"]
        beyond = mine["p50_ms"] - obliged["p50_ms"] if mine else None
        out.append(f"| {phase} | {fmt(bare['p50_ms'], 2)} | {fmt(obliged['p50_ms'], 2)} | {fmt(added, 2)} | "
                   f"{fmt(timing.get('auth'), 2)} | {fmt(timing.get('log'), 2)} | "
                   f"{fmt(mine['p50_ms'], 2) if mine else '-'} | {fmt(beyond, 2)} |")
    out.append("\n*auth* and *log*: medians of the floor's own `Server-Timing` for the token lookup and the "
               "log INSERT; *added*: the difference of the two floors' p50.")
    return "\n".join(out) + "\n"


def phases_legend() -> str:
    out = ["\n### Phases\n", "| phase | request |", "|---|---|"]
    out += [f"| {name} | {DESCRIPTIONS[name]} |" for name in PHASES]
    return "\n".join(out) + "\n"


def chart(rows: list[dict[str, Any]], sizes: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    by = index(rows)
    cols = 5
    rows_n = math.ceil(len(PHASES) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4 * cols, 3.2 * rows_n), squeeze=False)
    styles = {"scim_portal": ("tab:blue", "o"), "django-scim2": ("tab:orange", "s"), "bare": ("tab:gray", "^"),
              "bare+auth+log": ("tab:green", "v")}
    for ax, phase in zip(axes.flat, PHASES, strict=False):
        for system in SYSTEMS:
            xs, ys, failed = [], [], []
            for size in sizes:
                row = by.get((system, size, phase))
                if row and row["p50_ms"]:
                    xs.append(size)
                    ys.append(row["p50_ms"])
                    failed.append(not ok2xx(row))
            if xs:
                color, marker = styles[system]
                ax.plot(xs, ys, color=color, label=system, linewidth=1.5)
                for x, y, bad in zip(xs, ys, failed, strict=True):
                    # Hollow marker: the system answered with an error status (see the table).
                    ax.plot([x], [y], marker=marker, color=color, markerfacecolor="white" if bad else color)
        ax.set_title(phase, fontsize=10)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([f"{s:,}" for s in sizes], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(PHASES):]:
        ax.axis("off")
    axes.flat[0].set_ylabel("p50 latency (ms)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=len(SYSTEMS))
    fig.suptitle("SCIM request latency (p50, ms, log) vs number of users, per phase; "
                 "hollow marker = error status", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(out_dir: Path, meta: dict[str, Any], rows: list[dict[str, Any]], sizes: list[int]) -> str:
    out_dir.mkdir(parents=True, exist_ok=True)
    largest = max(sizes)
    targets = evaluate_targets(rows, largest)
    (out_dir / "results.json").write_text(json.dumps({"meta": meta, "results": rows, "targets": targets}, indent=2))
    md = "## SCIM benchmark results\n\n"
    md += "".join(f"- {k}: {v}\n" for k, v in meta.items() if not isinstance(v, (dict, list)))
    md += markdown_table(rows, sizes) + targets_table(targets, largest)
    if any(r["system"] == "bare+auth+log" for r in rows):
        md += obligations_table(rows, largest)
    md += phases_legend()
    (out_dir / "results.md").write_text(md)
    chart(rows, sizes, out_dir / "chart.png")
    return md
