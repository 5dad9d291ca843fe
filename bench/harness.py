"""What every figure shares: repetitions, medians and spreads, the table, the machine.

The machines these run on are shared and noisy, so a figure is never one timing: it is the
median of several repetitions, and a ratio is taken inside each repetition from measurements
made side by side, so that a slow moment hits both sides of the ratio alike.
"""
import math
import os
import platform
import sqlite3
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Figure:
    """One line of the table."""

    key: str
    title: str
    unit: str
    target: float
    higher_is_better: bool
    values: list = field(default_factory=list)  # one per repetition
    detail: str = ""
    note: str = ""
    error: str = ""
    extra_ok: bool = True  # a condition beside the number (e.g. zero errors) that must hold

    @property
    def measured(self):
        return statistics.median(self.values) if self.values else None

    @property
    def met(self):
        if self.measured is None:
            return None
        within = self.measured >= self.target if self.higher_is_better else self.measured <= self.target
        return within and self.extra_ok

    def verdict(self):
        if self.error:
            return "not run"
        return "met" if self.met else "MISSED"

    def target_text(self):
        return f"{'≥' if self.higher_is_better else '≤'} {fmt(self.target)}{self.unit}"

    def spread_text(self):
        if not self.values:
            return "-"
        if len(self.values) == 1:
            return "single run"
        return f"{fmt(min(self.values))}–{fmt(max(self.values))}{self.unit}"


def fmt(value):
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def timed(fn, *args, **kwargs):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def percentile(values, fraction):
    """Nearest-rank percentile: the smallest value with `fraction` of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered) - 1e-9))
    return ordered[min(len(ordered), rank) - 1]


def table(figures):
    header = ["figure", "measured", "target", "verdict", "reps", "spread", "detail"]
    rows = [[f"{f.key} {f.title}", "-" if f.measured is None else fmt(f.measured) + f.unit,
             f.target_text(), f.verdict(), str(len(f.values)), f.spread_text(),
             f.error or f.detail] for f in figures]
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [" | ".join(_pad(c, w) for c, w in zip(header, widths)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(_pad(c, w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def markdown_table(figures):
    lines = ["| # | figure | measured | target | verdict | reps | spread | detail |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for f in figures:
        lines.append(f"| {f.key} | {f.title} | {'-' if f.measured is None else fmt(f.measured) + f.unit} | "
                     f"{f.target_text()} | {f.verdict()} | {len(f.values)} | {f.spread_text()} | "
                     f"{f.error or f.detail} |")
    return "\n".join(lines)


def _width(text):
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if ord(ch) > 0x2e80 else 1 for ch in text)


def _pad(text, width):
    return text + " " * (width - _width(text))


def machine(pg_version=None):
    memory_kb = 0
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory": f"{memory_kb / 1024 / 1024:.1f} GiB" if memory_kb else "unknown",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version or "not reachable",
        "platform": platform.platform(),
    }
