"""Prints the soak's counts at the end of the run, so `make test` output shows them."""

from __future__ import annotations

import pytest

from tests.soak.bed import REPORTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORTS:
        terminalreporter.section("soak: verdicts and resolutions against the exchange's ground truth")
        for text in REPORTS:
            terminalreporter.write_line(text)
