"""`make demo` runs end to end, over HTTPS, and shows it."""

from __future__ import annotations

import pytest

from kalshi_amend import demo


def test_the_demo_amends_over_https(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    assert "Local exchange at https://127.0.0.1:" in out
    assert "--base-url https://127.0.0.1:" in out
    assert "--ca-file " in out
    assert "Filled 7.00 at an average 0.461429" in out
