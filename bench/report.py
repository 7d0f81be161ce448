"""Statistics, the issue's targets, and the Markdown report (also what is printed).

The tables are padded Markdown: readable in a terminal and pasteable into the README as is.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.startup import ProbeResult
from bench.variants import VARIANTS


def median(values: Sequence[int]) -> float:
    return float(statistics.median(values))


def p90(values: Sequence[int]) -> float:
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])  # nearest rank


@dataclass(frozen=True)
class Target:
    text: str
    value: float | None  # None: a row it needs did not run
    at_least: bool  # True: value >= threshold passes; False: value <= threshold passes
    threshold: float
    detail: str
    # The same ratio from each round's own medians: how much the run itself disagrees.
    per_round: tuple[float, ...] = ()

    def passes(self, value: float) -> bool:
        return value >= self.threshold if self.at_least else value <= self.threshold

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "N/A "
        return "PASS" if self.passes(self.value) else "FAIL"

    @property
    def borderline(self) -> bool:
        """Some rounds pass and some fail: the verdict is within this machine's noise."""
        return len({self.passes(value) for value in self.per_round}) > 1

    def line(self) -> str:
        sign = "≥" if self.at_least else "≤"
        shown = "n/a" if self.value is None else f"{self.value:.2f}"
        detail = self.detail
        if self.per_round:
            detail += f"; rounds {min(self.per_round):.3f}-{max(self.per_round):.3f}"
        flag = " (borderline: the rounds disagree)" if self.borderline else ""
        return f"{self.verdict} {self.text}: {shown}{flag} (target {sign} {self.threshold:g}; {detail})"


Rounds = dict[str, list[float]]  # variant -> the median of each round, in ns


def _ratio(
    text: str,
    top: str,
    bottom: str,
    meds: dict[str, float],
    rounds: Rounds,
    threshold: float,
    at_least: bool,
) -> Target:
    if top not in meds or bottom not in meds:
        return Target(text, None, at_least, threshold, f"needs {top} and {bottom}")
    detail = f"{top} {meds[top] / 1e3:.0f} µs / {bottom} {meds[bottom] / 1e3:.0f} µs"
    per_round = tuple(a / b for a, b in zip(rounds.get(top, []), rounds.get(bottom, []), strict=False))
    return Target(text, meds[top] / meds[bottom], at_least, threshold, detail, per_round)


def _startup_ratio(text: str, attr: str, probes: dict[str, ProbeResult], threshold: float) -> Target:
    ours, official = probes.get("ours"), probes.get("official-sdk")
    if ours and official and getattr(ours, attr) and getattr(official, attr):
        slow, fast = median(getattr(official, attr)), median(getattr(ours, attr))
        detail = f"official SDK {slow / 1e6:.1f} ms / ours {fast / 1e6:.1f} ms"
        return Target(text, slow / fast, True, threshold, detail)
    return Target(text, None, True, threshold, "needs the ours and official-sdk probes")


def targets(
    meds: dict[str, float], probes: dict[str, ProbeResult], rounds: Rounds | None = None
) -> list[Target]:
    rounds = rounds or {}
    # Ours at its best for target 1: the fastest of the sync RSA configurations that ran.
    found = []
    for suffix, when in (("", "back to back"), ("-paced", "2 ms apart")):
        best = min(
            (name for name in (f"ours-sync-rsa{suffix}", f"ours-presign-rsa{suffix}") if name in meds),
            key=lambda name: meds[name],
            default=f"ours-sync-rsa{suffix}",
        )
        text = f"official SDK / ours (best), sync, RSA, {when}"
        found.append(_ratio(text, f"official-sdk-rsa{suffix}", best, meds, rounds, 1.25, True))
    for key in ("rsa", "ed25519"):
        found.append(
            _ratio(
                f"ours (default) / hand-written httpx floor, sync, {key}",
                f"ours-sync-{key}",
                f"floor-httpx-{key}",
                meds,
                rounds,
                1.10,
                False,
            )
        )
    for key in ("rsa", "ed25519"):
        found.append(
            _ratio(
                f"ours sync / ours async per amend (32 in flight), {key}",
                f"ours-sync-{key}",
                f"ours-async32-{key}",
                meds,
                rounds,
                1.5,
                True,
            )
        )
    found.append(_startup_ratio("import: official SDK / ours", "import_ns", probes, 4))
    found.append(_startup_ratio("start to first amend: official SDK / ours", "first_amend_ns", probes, 3))
    return found


def _numeric(cell: str) -> bool:
    return cell == "n/a" or cell.replace(".", "", 1).isdigit()


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = [all(_numeric(row[i]) for row in rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if r else cell.ljust(width)
            for cell, width, r in zip(cells, widths, right, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if r else "-" * (w + 2) for w, r in zip(widths, right, strict=True))
        + "|"
    )
    return [line(header), rule, *(line(row) for row in rows)]


VARIANT_HEADER = ["variant", "what", "median µs", "p90 µs", "ops", "x floor", "peak RSS MiB"]
PROBE_HEADER = [
    "client",
    "import ms",
    "p90",
    "start→1st amend ms",
    "p90",
    "runs",
    "peak RSS MiB",
    "import: official/this",
    "start: official/this",
]


def _variant_rows(
    results: dict[str, dict[str, Any]], meds: dict[str, float], notes: list[str]
) -> list[list[str]]:
    rows = []
    for variant in VARIANTS:
        result = results.get(variant.name)
        if result is None:
            continue
        rss = f"{result['maxrss_kb'] / 1024:.0f}" if result.get("maxrss_kb") else "n/a"
        if variant.name not in meds:
            why = result.get("unavailable") or f"error: {result.get('error', 'no samples')}"
            notes.append(f"- `{variant.name}` did not run: {why}")
            rows.append([variant.name, variant.what, "n/a", "n/a", "0", "n/a", rss])
            continue
        own, floor = meds[variant.name], meds.get(f"floor-httpx-{variant.key}")
        rows.append(
            [
                variant.name,
                variant.what,
                f"{own / 1e3:.1f}",
                f"{p90(result['samples_ns']) / 1e3:.1f}",
                str(result["ops"]),
                f"{own / floor:.2f}" if floor else "n/a",
                rss,
            ]
        )
    return rows


def _probe_rows(probes: list[ProbeResult], notes: list[str]) -> list[list[str]]:
    official = next((p for p in probes if p.name == "official-sdk" and not p.problem), None)
    rows = []
    for probe in probes:
        if probe.problem:
            notes.append(f"- start-up probe `{probe.name}` did not run: {probe.problem}")
            continue
        imported, first = median(probe.import_ns), median(probe.first_amend_ns)
        faster_import = faster_first = "n/a"
        if official is not None:
            faster_import = f"{median(official.import_ns) / imported:.2f}"
            faster_first = f"{median(official.first_amend_ns) / first:.2f}"
        rows.append(
            [
                probe.name,
                f"{imported / 1e6:.1f}",
                f"{p90(probe.import_ns) / 1e6:.1f}",
                f"{first / 1e6:.1f}",
                f"{p90(probe.first_amend_ns) / 1e6:.1f}",
                str(len(probe.first_amend_ns)),
                f"{median(probe.maxrss_kb) / 1024:.0f}",
                faster_import,
                faster_first,
            ]
        )
    return rows


def render(
    results: dict[str, dict[str, Any]],
    probes: list[ProbeResult],
    meta: dict[str, str],
    method: str,
) -> tuple[str, list[Target]]:
    """The whole report as Markdown, and the targets it checked."""
    meds = {name: median(r["samples_ns"]) for name, r in results.items() if r.get("samples_ns")}
    rounds = {name: r["round_medians_ns"] for name, r in results.items() if r.get("round_medians_ns")}
    checked = targets(meds, {probe.name: probe for probe in probes}, rounds)
    notes: list[str] = []
    rows, probe_rows = _variant_rows(results, meds, notes), _probe_rows(probes, notes)

    out = ["# Amend Order (V2) client bench", ""]
    out += [f"- {key}: {value}" for key, value in meta.items()]
    out += ["", "## Per amend (sequential unless noted; x floor = / floor-httpx with the same key)", ""]
    out += _table(VARIANT_HEADER, rows)
    out += ["", "## Start-up (fresh processes)", ""]
    out += _table(PROBE_HEADER, probe_rows) if probe_rows else ["(no start-up probe ran)"]
    out += ["", "## Targets", "", *(f"- {target.line()}" for target in checked)]
    if notes:
        out += ["", "## Not measured", "", *notes]
    out += ["", "## Method", "", method.strip(), ""]
    return "\n".join(out), checked
