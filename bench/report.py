"""Statistics, the issue's targets, and the Markdown report (also what is printed).

The tables are padded Markdown: readable in a terminal and pasteable into the README as is.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.clients import CELLS, CLIENTS

Cells = dict[
    str, dict[str, dict[str, Any]]
]  # client -> cell -> {"samples_ns", "round_medians_ns"} or why not


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(q * len(ordered)) - 1)])  # nearest rank


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

    def line(self) -> str:
        sign = "≥" if self.at_least else "≤"
        shown = "n/a" if self.value is None else f"{self.value:.2f}"
        detail = self.detail
        if self.per_round:
            detail += f"; rounds {min(self.per_round):.2f}-{max(self.per_round):.2f}"
        flag = (
            " (borderline: the rounds disagree)" if len({self.passes(v) for v in self.per_round}) > 1 else ""
        )
        return f"{self.verdict} {self.text}: {shown}{flag} (target {sign} {self.threshold:g}; {detail})"


def _ratio(text: str, top: str, bottom: str, cells: Cells, threshold: float, at_least: bool) -> Target:
    """cells "client:key/scheme": the median of `top` over the median of `bottom`."""
    (a, a_cell), (b, b_cell) = top.split(":"), bottom.split(":")
    x, y = cells.get(a, {}).get(a_cell, {}), cells.get(b, {}).get(b_cell, {})
    if not x.get("samples_ns") or not y.get("samples_ns"):
        return Target(text, None, at_least, threshold, f"needs {top} and {bottom}")
    mx, my = median(x["samples_ns"]), median(y["samples_ns"])
    rounds = zip(x["round_medians_ns"], y["round_medians_ns"], strict=False)
    detail = f"{a} {mx / 1e3:.0f} µs / {b} {my / 1e3:.0f} µs"
    return Target(text, mx / my, at_least, threshold, detail, tuple(p / q for p, q in rounds))


def targets(cells: Cells, latency: dict[str, dict[str, Any]], rtt_ms: float) -> list[Target]:
    found = []
    for cell in ("rsa/http", "ed25519/http"):
        text = f"recommended amend_order / raw sync_detailed, {cell}"
        found.append(_ratio(text, f"ours:{cell}", f"ours-raw:{cell}", cells, 1.03, False))
    for peer in ("official", "kalshi-sdk"):
        for cell in CELLS:
            text = f"{peer} / ours, sequential, {cell}"
            found.append(_ratio(text, f"{peer}:{cell}", f"ours:{cell}", cells, 1.3, True))
    for cell in ("ed25519/http", "ed25519/tls"):
        text = f"ours / stdlib limit, sequential, {cell}"
        found.append(_ratio(text, f"ours:{cell}", f"stdlib:{cell}", cells, 1.3, False))
    for cell in ("rsa/http", "ed25519/http"):
        text = f"ours sync / ours async 32 in flight, per amend, {cell}"
        found.append(_ratio(text, f"ours:{cell}", f"ours-async:{cell}", cells, 2.5, True))
    for cell in CELLS:
        text = f"async as installed (no httpx-aiohttp) never slower than sync: ours / ours-async, {cell}"
        found.append(_ratio(text, f"ours:{cell}", f"ours-async:{cell}", cells, 1.0, True))
    for cell in ("rsa/http", "rsa/tls"):
        # Not an issue target: whether opt-in pre-signing earns its keep (else remove it).
        text = f"ours paced / ours presign=True paced (3 ms idle), {cell}"
        found.append(_ratio(text, f"ours-paced:{cell}", f"ours-presign:{cell}", cells, 1.0, True))
    warm = latency.get("ours-warm", {})
    for case, key in (("first amend", "first_ns"), ("after 10 s idle", "idle_ns"), ("steady p99", "p99_ns")):
        text = f"ours with warm-up, {case}, in round trips"
        if key not in warm:
            why = warm.get("unavailable") or warm.get("error") or "did not run"
            cold = latency.get("ours", {})
            if key in cold:  # the cost a warm-up would save
                why += f"; ours without one: {cold[key] / (rtt_ms * 1e6):.2f}"
            found.append(Target(text, None, False, 1.3, why))
            continue
        value = warm[key] / (rtt_ms * 1e6)
        found.append(
            Target(text, value, False, 1.3, f"{warm[key] / 1e6:.1f} ms at {rtt_ms:.1f} ms a round trip")
        )
    return found


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = [i >= 2 for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        ("-" * (w + 1) + ":") if r else "-" * (w + 2) for w, r in zip(widths, right, strict=True)
    )
    return [line(header), rule + "|", *(line(row) for row in rows)]


def _matrix(cells: Cells, async_rows: bool, notes: list[str]) -> list[str]:
    why_not: dict[tuple[str, str], list[str]] = {}  # (client, why) -> its cells that did not run
    rows = []
    for client in CLIENTS:
        if not client.matrix or bool(client.in_flight) != async_rows or client.name not in cells:
            continue
        row = [client.name, client.what]
        for cell in CELLS:
            result = cells[client.name].get(cell, {})
            if result.get("samples_ns"):
                samples = result["samples_ns"]
                row.append(f"{median(samples) / 1e3:.0f} ({quantile(samples, 0.9) / 1e3:.0f})")
                continue
            why = result.get("unavailable") or f"error: {result.get('error', 'did not run')}"
            why_not.setdefault((client.name, why), []).append(cell)
            row.append("n/a")
        rows.append(row)
    notes += [f"- `{name}` {', '.join(where)}: {why}" for (name, why), where in why_not.items()]
    header = ["client", "what", *(cell.replace("/", " ") for cell in CELLS)]
    return _table(header, rows)


def _latency(latency: dict[str, dict[str, Any]], rtt_ms: float, notes: list[str]) -> list[str]:
    header = ["client", "what", "first amend", "after 10 s idle", "steady p50", "steady p99"]
    rows = []
    for client in CLIENTS:
        result = latency.get(client.name)
        if result is None:
            continue
        if "first_ns" not in result:
            notes.append(
                f"- `{client.name}` behind the latency proxy: {result.get('unavailable') or result.get('error')}"
            )
            rows.append([client.name, client.what, "n/a", "n/a", "n/a", "n/a"])
            continue
        values = (result["first_ns"], result["idle_ns"], median(result["steady_ns"]), result["p99_ns"])
        rows.append([client.name, client.what, *(f"{value / (rtt_ms * 1e6):.2f}" for value in values)])
    return _table(header, rows)


def render(
    cells: Cells, latency: dict[str, dict[str, Any]], meta: dict[str, str], method: str, rtt_ms: float
) -> tuple[str, list[Target]]:
    """The whole report as Markdown, and the targets it checked."""
    for result in latency.values():
        if result.get("steady_ns"):
            result["p99_ns"] = quantile(result["steady_ns"], 0.99)
    checked = targets(cells, latency, rtt_ms)
    notes: list[str] = []
    out = ["# Amend Order (V2) client bench", "", *(f"- {key}: {value}" for key, value in meta.items())]
    out += ["", "## Per amend, sequential: median µs (p90)", "", *_matrix(cells, False, notes)]
    out += ["", "## Per amend, async with 32 in flight: median µs (p90) of batch time / amends", ""]
    out += _matrix(cells, True, notes)
    if latency:
        out += ["", "## A real network: round trips of a new client, after idle, steady (RSA, TLS)", ""]
        out += [
            f"In round trips of {rtt_ms:.1f} ms; idle connections closed by the proxy; steady: back to back.",
            "",
        ]
        out += _latency(latency, rtt_ms, notes)
    out += ["", "## Targets", "", *(f"- {target.line()}" for target in checked)]
    if notes:
        out += ["", "## Not measured", "", *notes]
    out += ["", "## Method", "", method.strip(), ""]
    return "\n".join(out), checked
