"""bench/RESULTS.md from the harness's stored figures (`var/bench/results-N.json`).

Only the national-scale section (between its two markers) is rewritten; anything else in
the file is kept. Each figure stands beside its target from issue 9, with the verdict
(met, or missed by how much).
"""

from pathlib import Path
from typing import Any

START = "<!-- national-scale:start -->"
END = "<!-- national-scale:end -->"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _verdict(value: float, limit: float, unit: str = "", higher_is_better: bool = False) -> str:
    """`met`, or `missed: value vs limit` with how far off, in the figure's own unit."""
    met = value >= limit if higher_is_better else value <= limit
    if met:
        return "met"
    if unit == "x":
        return f"missed: {value:.2f}x vs {limit:g}x ({value / limit - 1:+.0%})"
    if unit == "%":
        return f"missed: {value:.0%} vs {limit:.0%}"
    return f"missed: {value:,.0f}{unit} vs {limit:,.0f}{unit} ({value / limit - 1:+.0%})"


def _ms(value: float) -> str:
    return f"{value:,.1f}"


def _generation(data: dict[str, Any]) -> list[str]:
    generation = data["generation"]
    rows = ", ".join(f"{table} {count:,}" for table, count in generation["rows"].items())
    lines = [
        "#### Generation",
        "",
        "| generator | seconds | loader peak memory | VACUUM ANALYZE | database size | target |",
        "|---|---|---|---|---|---|",
    ]
    target = "-"
    if data["loans"] >= 1_000_000:
        minutes = generation["seconds"] / 60
        target = (
            f"1 M in < 15 min: {_verdict(minutes, 15, ' min')}; "
            f"< 1 GB: {_verdict(generation['peak_mib'], 1024, ' MiB')}"
        )
    lines.append(
        f"| `{generation['generator']}` | {generation['seconds']:,.0f} | "
        f"{generation['peak_mib']:,.0f} MiB | {generation['vacuum_seconds']:,.0f} s | "
        f"{generation['database_mib']:,.0f} MiB | {target} |"
    )
    lines += ["", f"Rows: {rows}.", "", f"Command: `{generation['command']}`.", ""]
    return lines


def _reports(data: dict[str, Any]) -> list[str]:
    million = data["loans"] >= 1_000_000
    reports = data["reports"]
    par30 = next((row for row in reports if row["name"].startswith("PAR30")), None)
    lines = [
        "#### Reports (HTTP, JSON, sequential; median of the repeats)",
        "",
        "Each floor is the fastest of the hand-written variants in `bench/floors.py` "
        "(run with `plan_cache_mode = force_custom_plan` and, like the service's report connections, `jit = off` and the reports' `work_mem`); a floor slower than the service "
        "(ratio below 1) means no variant beat the service's own statement.",
        "",
        f"The bare endpoint (`GET /health/live`) takes {data.get('bare_ms', 0):.1f} ms through the "
        "same client; every service time includes it. Before timing, the harness asserts "
        "that the floor gives the same figures as the service for every group and the total.",
        "",
        "| report | service ms | hand-written SQL ms | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in reports:
        if "error" in row or "disagreements" in row:
            problem = row.get("error") or "floor and service disagree: " + "; ".join(
                row["disagreements"][:3]
            )
            lines.append(f"| {row['name']} | failed | - | - | - | {problem} |")
            continue
        if "service_ms" not in row:
            lines.append(f"| {row['name']} | - | {_ms(row['floor_ms'])} | - | - | - |")
            continue
        ratio = row["service_ms"] / row["floor_ms"]
        name, target, verdicts = row["name"], row.get("target", ""), []
        if name.startswith("portfolio today"):
            verdicts.append(f"1.2x SQL: {_verdict(ratio, 1.2, 'x')}")
            if par30 is not None:
                versus = row["service_ms"] / par30["floor_ms"]
                verdicts.append(f"{versus:.1f}x PAR30-only, 3x: {_verdict(versus, 3, 'x')}")
        elif name.startswith("portfolio month end"):
            verdicts.append(f"1.5x SQL: {_verdict(ratio, 1.5, 'x')}")
            verdicts.append(f"< 1 s: {_verdict(row['service_ms'], 1000, ' ms')}")
        elif name.startswith("portfolio"):
            verdicts.append(f"1.5x SQL: {_verdict(ratio, 1.5, 'x')}")
            if million:
                verdicts.append(f"< 3 s at 1 M: {_verdict(row['service_ms'], 3000, ' ms')}")
        elif name.startswith("trend"):
            verdicts.append(f"< 1 s: {_verdict(row['service_ms'], 1000, ' ms')}")
        else:
            target = "(no target)"
        lines.append(
            f"| {name} | {_ms(row['service_ms'])} | {_ms(row['floor_ms'])} | {ratio:.2f} | "
            f"{target} | {'; '.join(verdicts) or '-'} |"
        )
    lines.append("")
    return lines


def _history(data: dict[str, Any]) -> list[str]:
    history = data["history"]
    short, long = history["2"], history["2000"]
    read_ratio = long["read_ms"] / short["read_ms"]
    write_ratio = long["repayment_ms"] / short["repayment_ms"]
    lines = [
        "#### A loan at 2 and at 2,000 repayments (sequential, medians)",
        "",
        "| call | at 2 ms | at 2,000 ms | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
        f"| `GET /loans/{{id}}` | {_ms(short['read_ms'])} | {_ms(long['read_ms'])} | "
        f"{read_ratio:.2f} | <= 1.5x | {_verdict(read_ratio, 1.5, 'x')} |",
        f"| `POST /loans/{{id}}/repayments` (dated today) | {_ms(short['repayment_ms'])} | "
        f"{_ms(long['repayment_ms'])} | {write_ratio:.2f} | <= 1.5x | "
        f"{_verdict(write_ratio, 1.5, 'x')} |",
    ]
    if "list_ms" in history:
        million = data["loans"] >= 1_000_000
        for label, value in history["list_ms"].items():
            verdict = _verdict(value, 100, " ms") if million else "(target at 1 M)"
            lines.append(
                f"| `GET /loans?{label}` | {_ms(value)} | | | < 100 ms at 1 M | {verdict} |"
            )
    lines.append("")
    return lines


def _exports(data: dict[str, Any]) -> list[str]:
    lines = [
        "#### Server memory while it streams an export (1 worker; peak reset before each)",
        "",
        "| export | bytes | seconds | RSS before | peak RSS | RSS after |",
        "|---|---|---|---|---|---|",
    ]
    for row in data["exports"]:
        lines.append(
            f"| `{row['path']}` | {row['bytes']:,} | {row['seconds']:.2f} | "
            f"{row['rss_before_mib']:.0f} MiB | {row['peak_mib']:.0f} MiB | "
            f"{row['rss_after_mib']:.0f} MiB |"
        )
    lines.append("")
    return lines


def _run(figures: dict[str, Any]) -> str:
    """req/s | p50 | p99 | errors of one wrk run (a run in which no request completed says
    so rather than showing zero latencies)."""
    if not figures["requests"]:
        return f"0 | none completed | in {figures.get('seconds', '?')} s | {figures['errors']}"
    return (
        f"{figures['req_s']:,.0f} | {figures['p50_ms']:.1f} | {figures['p99_ms']:.1f} | "
        f"{figures['errors']}"
    )


def _load_range(data: dict[str, Any]) -> str:
    seen = [
        side["load_average"]
        for row in data["load"]
        for side in (row["service"], row["floor"])
        if "load_average" in side
    ]
    return f"{min(seen):.1f} to {max(seen):.1f}" if seen else "not recorded"


def _load(data: dict[str, Any]) -> list[str]:
    lines = [
        f"#### Under load (`wrk`, {data['load_connections']} connections, "
        f"{data['load_seconds']} s per run after a 2 s warm-up, from a separate process)",
        "",
        "The floor is `bench/floor_app.py` (hand-written SQL through asyncpg, no framework), "
        "served by the same uvicorn with the same workers. The loans list runs with 4 "
        "clients (500 loans a page), the others with "
        f"{data['load_connections']}. Load average of the machine during these runs: "
        f"{_load_range(data)}.",
        "",
        "| calls | workers | clients | service req/s | p50 ms | p99 ms | errors | floor req/s | p50 ms "
        "| p99 ms | errors | service / floor | target | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in data["load"]:
        service, floor = row["service"], row["floor"]
        share = service["req_s"] / floor["req_s"]
        target, verdict = "-", "-"
        if row["name"] == "repayment":
            target = ">= 50 % of floor, 0 errors"
            verdict = _verdict(share, 0.5, "%", higher_is_better=True)
            if service["errors"]:
                verdict += f"; {service['errors']} errors"
        elif row["name"] == "loan read":
            target = ">= 60 % of floor"
            verdict = _verdict(share, 0.6, "%", higher_is_better=True)
        lines.append(
            f"| {row['name']} | {row['workers']} | "
            f"{row.get('connections', data['load_connections'])} | {_run(service)} | "
            f"{_run(floor)} | {share:.0%} | {target} | {verdict} |"
        )
    mixed = data.get("mixed_repayments")
    if mixed:
        lines += [
            "",
            f"Repayments at 32 clients and 2 workers, {mixed['long_share']:.0%} of them on "
            f"loans with 2,000 repayments: {mixed['req_s']:,.0f} req/s, p50 "
            f"{mixed['p50_ms']:.1f} ms, p99 {mixed['p99_ms']:.1f} ms, {mixed['errors']} errors "
            f"(target p99 < 100 ms, 0 errors: "
            f"{_verdict(mixed['p99_ms'], 100, ' ms')}"
            f"{'' if not mixed['errors'] else '; errors'}).",
            "",
            f"`{mixed['command']}`",
        ]
    example = data["load"][0]["service"]["command"] if data["load"] else ""
    lines += ["", f"Each run: `{example}` (the request file and headers change per row).", ""]
    return lines


def section(results: list[dict[str, Any]]) -> str:
    lines = [
        START,
        "## National scale (`make bench`)",
        "",
        "Made by `make bench` (`bench/harness.py`): PostgreSQL 15 on the same 2-core machine "
        "as the server and the load generator, shared with other work, so absolute figures "
        "are noisy; each figure stands beside a floor measured in the same run. **Autovacuum "
        "is off on this machine**: the harness runs `VACUUM ANALYZE` once after loading, and "
        "the dead rows that the load tests leave behind are not cleaned during the run.",
        "",
    ]
    for data in results:
        lines += [
            f"### {data['loans']:,} loans",
            "",
            f"`{data.get('command', 'make bench')}`, started {data.get('started', '?')}, "
            f"finished {data.get('finished', '?')}.",
            "",
        ]
        lines += _generation(data)
        if "reports" in data:
            lines += _reports(data)
        if "history" in data:
            lines += _history(data)
        if "exports" in data:
            lines += _exports(data)
        if "load" in data:
            lines += _load(data)
        for failure in data.get("failures", []):
            lines += [f"A phase of this run failed: `{failure}`.", ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def render(results: list[dict[str, Any]], existing: Path = RESULTS) -> str:
    """The whole RESULTS.md: the national-scale section replaced, the rest kept."""
    body = section(results)
    text = existing.read_text() if existing.exists() else "# Benchmark results\n\n"
    if START in text and END in text:
        before, _, rest = text.partition(START)
        _, _, after = rest.partition(END)
        return before + body.rstrip("\n") + after
    return text.rstrip("\n") + "\n\n" + body
