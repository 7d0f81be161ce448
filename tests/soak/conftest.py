"""The proxy's TLS certificate, and the soak's counts printed at the end of the run (so
`make test` output shows them)."""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Iterator

import pytest

from local_exchange.tls import make_server_tls
from tests.soak.bed import REPORTS


@pytest.fixture(scope="session")
def proxy_tls() -> Iterator[tuple[ssl.SSLContext, str]]:
    """A server context for the fault proxy (the local exchange's throwaway CA and
    certificate for 127.0.0.1), and the CA file a client trusts it with."""
    made = make_server_tls()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(made.cert_path, made.key_path)
    yield context, str(made.ca_path)
    shutil.rmtree(made.directory, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORTS:
        terminalreporter.section("soak: verdicts and resolutions against the exchange's ground truth")
        for text in REPORTS:
            terminalreporter.write_line(text)
