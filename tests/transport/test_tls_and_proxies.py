"""Issue 12: TLS with a custom CA, certificate failures, proxies and the trust_env
variables, on all three transports, against a real TLS front with a throwaway CA and
a CONNECT proxy on loopback (tests/transport/servers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth_hooks import KalshiAuth, NotSent
from auth_hooks.transports import CertificateVerifyFailed
from tests.support.keys import KeyFiles
from tests.support.verifying_server import SignatureCheckingServer

from .conftest import KEY_ID
from .modes import MODES, amend
from .servers import Ca, Fronts, fronts

ENV_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def server(key_files: dict[str, KeyFiles]) -> Iterator[SignatureCheckingServer]:
    state = SignatureCheckingServer({KEY_ID: key_files["ed25519"].public_pem})
    with state.running():
        yield state


@pytest.fixture
def front(server: SignatureCheckingServer, ca: Ca) -> Iterator[Fronts]:
    port = int(server.base_url.split(":")[2].split("/")[0])
    with fronts(port, ca) as state:
        yield state


def _verified(server: SignatureCheckingServer) -> list[str]:
    return [r.verdict for r in server.received]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("how", ["path", "pathlike", "context"])
def test_a_custom_ca_by_path_or_context(
    mode: str, how: str, auth: KalshiAuth, ca: Ca, front: Fronts, server: SignatureCheckingServer
) -> None:
    verify = {"path": str(ca.path), "pathlike": ca.path, "context": ca.client_context()}[how]
    result = amend(mode, auth, front.base_url(), verify=verify)
    assert result.order_id == "ord-1"
    assert _verified(server) == ["ok"]
    assert front.tunnels == []


@pytest.mark.parametrize("mode", MODES)
def test_a_certificate_failure_is_not_sent_and_never_retried(
    mode: str, auth: KalshiAuth, front: Fronts, server: SignatureCheckingServer
) -> None:
    with pytest.raises(NotSent) as caught:
        amend(mode, auth, front.base_url(), connect_retries=2)  # the throwaway CA is not trusted
    assert "certificate verify failed" in str(caught.value)
    assert isinstance(caught.value.__cause__, CertificateVerifyFailed)
    assert front.tls_connections == 1
    assert server.received == []


@pytest.mark.parametrize("mode", MODES)
def test_proxy_keeps_the_verify_setting(
    mode: str, auth: KalshiAuth, ca: Ca, front: Fronts, server: SignatureCheckingServer
) -> None:
    result = amend(mode, auth, front.base_url(), proxy=front.proxy_url, verify=str(ca.path))
    assert result.order_id == "ord-1"
    assert front.tunnels == [f"127.0.0.1:{front.tls_port}"]
    assert _verified(server) == ["ok"]


@pytest.mark.parametrize("mode", MODES)
def test_https_proxy_from_the_environment(
    mode: str, auth: KalshiAuth, ca: Ca, front: Fronts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", front.proxy_url)
    amend(mode, auth, front.base_url(), verify=str(ca.path))
    assert len(front.tunnels) == 1
    amend(mode, auth, front.base_url(), verify=str(ca.path), trust_env=False)
    assert len(front.tunnels) == 1
    monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
    amend(mode, auth, front.base_url(), verify=str(ca.path))
    assert len(front.tunnels) == 1


@pytest.mark.parametrize("mode", MODES)
def test_http_proxy_for_a_plain_http_base_url(
    mode: str,
    auth: KalshiAuth,
    front: Fronts,
    server: SignatureCheckingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", front.proxy_url)
    amend(mode, auth, server.base_url)
    assert len(front.forwarded) == 1
    assert front.forwarded[0].startswith(server.base_url)
    assert _verified(server) == ["ok"]


@pytest.mark.parametrize("mode", MODES)
def test_ssl_cert_file_from_the_environment(
    mode: str, auth: KalshiAuth, ca: Ca, front: Fronts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.path))
    assert amend(mode, auth, front.base_url()).order_id == "ord-1"
    with pytest.raises(NotSent, match="certificate verify failed"):
        amend(mode, auth, front.base_url(), trust_env=False)
