"""`make bench`: every figure of the benchmark issue, measured in one run, printed as one table.

    python bench/run.py            the full run (a few minutes, builds 250,000 cases)
    python bench/run.py --quick    a reduced run, under two minutes
    python bench/run.py --only P1,P5 --json out.json

Each figure builds its own data in a temporary folder (SQLite files) or a throwaway PostgreSQL
database, and everything is removed at the end.
"""
import argparse
import json
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.stores import Stores, postgres_version  # noqa: E402

TARGETS = {  # key: (title, unit, target, higher is better)
    "P1": ("task completion: service ÷ raw SpiffWorkflow", "×", 1.5, False),
    "P2": ("completion after 200 loops ÷ on a fresh case", "×", 1.5, False),
    "P3": ("timers and reminders fired per second, one worker", "/s", 300, True),
    "P4": ("sweep of due items among 250,000 ÷ among 10,000 open cases", "×", 1.2, False),
    "P5": ("GET /tasks?overdue=true, street supervisor, province, p95", " ms", 50, False),
    "P6": ("cases started per second (SQLite, one process)", "/s", 200, True),
    "P7": ("completions per second, PostgreSQL, 2 serve processes, 32 clients", "/s", 150, True),
    "P8": ("RSS of a serve process after 10,000 completions (and growth ≤ 2 %)", " MB", 300, False),
    "P9": ("slowest page at city scale, server-side, p95", " ms", 150, False),
    "P10": ("slowest report command at province scale (new process each)", " s", 2, False),
}
FIGURES = list(TARGETS)


RUNNERS = [  # (figures, module, function): modules load only when one of their figures runs
    (("P1",), "step", "run_p1"),
    (("P2",), "step", "run_p2"),
    (("P3", "P4"), "sweep", "run_p3_p4"),
    (("P5",), "inbox", "run_p5"),
    (("P6",), "start", "run_p6"),
    (("P7",), "serve", "run_p7"),
    (("P8",), "serve", "run_p8"),
    (("P9",), "pages", "run_p9"),
    (("P10",), "reports", "run_p10"),
]


def runner(module, function):
    import importlib
    return getattr(importlib.import_module(f"bench.{module}"), function)


def placeholder(key, message):
    figure = harness.Figure(key, *TARGETS[key])
    figure.error = message
    return figure


def main(argv=None):
    parser = argparse.ArgumentParser(description="Linkage benchmarks")
    parser.add_argument("--quick", action="store_true", help="reduced sizes, under two minutes")
    parser.add_argument("--only", help="comma-separated figures, e.g. P1,P5")
    parser.add_argument("--json", dest="json_path", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    wanted = set((args.only or ",".join(FIGURES)).upper().split(","))
    pg = postgres_version()
    started = time.perf_counter()
    figures = []
    with tempfile.TemporaryDirectory(prefix="linkage-bench-") as workdir:
        stores = Stores(workdir)
        try:
            for keys, module, function in RUNNERS:
                if not wanted.intersection(keys):
                    continue
                label = "/".join(keys)
                print(f"[{time.perf_counter() - started:6.1f}s] {label} ...", file=sys.stderr, flush=True)
                try:
                    result = runner(module, function)(stores, args.quick)
                except Exception as exc:  # noqa: BLE001 - one broken figure must not hide the rest
                    traceback.print_exc()
                    result = [placeholder(k, f"{exc.__class__.__name__}: {exc}"[:200]) for k in keys]
                for figure in result if isinstance(result, list) else [result]:
                    if figure.key in wanted:
                        figures.append(figure)
                print(f"[{time.perf_counter() - started:6.1f}s] {label} done", file=sys.stderr, flush=True)
        finally:
            stores.close()
    elapsed = time.perf_counter() - started
    info = harness.machine(pg)
    sys.stderr.flush()
    print()
    print(f"Linkage benchmarks, {'quick' if args.quick else 'full'} run, "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s")
    print(f"machine: {info['cores']} cores, {info['memory']}, Python {info['python']}, "
          f"SQLite {info['sqlite']}, PostgreSQL {info['postgresql']}")
    print()
    print(harness.table(figures))
    for figure in figures:
        if figure.note:
            print(f"\n{figure.key}: {figure.note}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({
            "mode": "quick" if args.quick else "full", "elapsed_s": round(elapsed, 1),
            "at": datetime.now(timezone.utc).isoformat(), "machine": info,
            "figures": [{"key": f.key, "title": f.title, "unit": f.unit, "target": f.target,
                         "measured": f.measured, "values": f.values, "verdict": f.verdict(),
                         "detail": f.detail, "error": f.error} for f in figures],
            "markdown": harness.markdown_table(figures)}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
