"""P10: the report commands answer in under 2 seconds each at province scale.

The database is what a deployment holds after `linkage init` and `linkage demo --scale
province` (Shanxi's 23,494 compounds with the seed's mix, a sample of cases walked through the
engine and copies of them); the load itself is timed and shown beside the figure. Then every
report a user asks for from the command line is run as the real command in a new process, the
way a clerk or a cron job runs it: coverage, credit and cases, each as JSON for the whole
province, as JSON by community (every community's row) and as the XLSX form. A repetition's
value is its slowest command, start-up included; the figure is the median over repetitions.

    .venv/bin/python bench/reports.py            3 repetitions, province scale
    .venv/bin/python bench/reports.py --quick    1 repetition, city scale (a smaller load)
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Figure, fmt  # noqa: E402
from bench.stores import ROOT, Stores, linkage_command, server_env  # noqa: E402

TARGET_S = 2.0
KINDS = ("coverage", "credit", "cases")
VARIANTS = (("JSON", ("--format", "json")), ("JSON by community", ("--format", "json", "--by", "community")),
            ("XLSX", ("--format", "xlsx")))


def run(args, env, cwd, timeout=1800):
    """Seconds one `linkage` command took; a failed command stops the figure."""
    start = time.perf_counter()
    result = subprocess.run([*linkage_command(), *args], cwd=cwd, env=env, capture_output=True,
                            timeout=timeout)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"linkage {' '.join(args)} failed: {tail[0]}")
    return elapsed


def run_p10(stores, quick):
    scale = "city" if quick else "province"
    url = stores.sqlite(f"reports_{scale}")
    env = server_env(url, stores.instance)
    out = stores.workdir / "report-out"
    out.mkdir(exist_ok=True)
    load = run(["demo", "--scale", scale], env, ROOT)
    repetitions = 1 if quick else 3
    per_command = {}
    slowest_per_rep = []
    for _ in range(repetitions):
        times = {}
        for kind in KINDS:
            for label, flags in VARIANTS:
                times[(kind, label)] = run(["report", kind, *flags], env, out, timeout=120)
        for key, seconds in times.items():
            per_command.setdefault(key, []).append(seconds)
        slowest_per_rep.append(max(times.values()))
    figure = Figure("P10", f"slowest report command at {scale} scale", " s", TARGET_S, False)
    figure.values = slowest_per_rep
    medians = {key: statistics.median(values) for key, values in per_command.items()}
    (worst_kind, worst_label), worst = max(medians.items(), key=lambda item: item[1])
    figure.detail = (f"`linkage demo --scale {scale}` loaded in {load:.0f} s; slowest: report "
                     f"{worst_kind} {worst_label} ({fmt(worst)} s median); {len(medians)} commands "
                     f"per repetition, each a new process")
    figure.note = "\n" + "\n".join(f"  report {kind:<8} {label:<18} {fmt(seconds)} s"
                                   for (kind, label), seconds in sorted(medians.items()))
    return figure


def main(argv=None):
    parser = argparse.ArgumentParser(description="Report commands at province scale")
    parser.add_argument("--quick", action="store_true", help="city scale, one repetition")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="linkage-bench-reports-") as workdir:
        figure = run_p10(Stores(workdir), args.quick)
    print(f"{figure.title}: {fmt(figure.measured)} s (target ≤ {fmt(TARGET_S)} s, "
          f"{figure.verdict()}, spread {figure.spread_text()})")
    print(figure.detail)
    print(figure.note)
    return 0 if figure.met else 1


if __name__ == "__main__":
    sys.exit(main())
