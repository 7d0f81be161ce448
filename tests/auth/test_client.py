"""make_client: the generated client, signing, against a real server that checks signatures."""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kalshi_trade_api.api.orders import amend_order_v2
from kalshi_trade_api.client import AuthenticatedClient
from kalshi_trade_api.models import AmendOrderV2Request, AmendOrderV2Response, BookSide

from auth_hooks import (
    KalshiAuth,
    KalshiConfigError,
    NotSent,
    OutcomeUnknown,
    Rejected,
    amend_order,
    amend_order_async,
    load_private_key,
    make_client,
)
from auth_hooks.auth import HEADERS_AT
from auth_hooks.client import resolve_base_url
from auth_hooks.httpcore_transport import BoundedHTTPTransport
from auth_hooks.lane import WireTransport
from tests.support.keys import KeyFiles
from tests.support.verifying_server import Received, Reply, SignatureCheckingServer

BODY = AmendOrderV2Request(ticker="HIGHNY-24JAN01-T60", side=BookSide.BID, price="0.5600", count="10.00")
KEY_NAMES = ["rsa_pkcs1", "rsa_pkcs8", "ed25519", "rsa_encrypted"]


@pytest.fixture
def server(key_files: dict[str, KeyFiles]) -> Iterator[SignatureCheckingServer]:
    state = SignatureCheckingServer({name: files.public_pem for name, files in key_files.items()})
    with state.running():
        yield state


def _auth(key_files: dict[str, KeyFiles], name: str) -> KalshiAuth:
    return KalshiAuth(name, load_private_key(key_files[name].path, key_files[name].password))


@pytest.mark.parametrize("key_name", KEY_NAMES)
def test_sync_generated_call_is_signed_and_verified(
    server: SignatureCheckingServer, key_files: dict[str, KeyFiles], key_name: str
) -> None:
    client = make_client(_auth(key_files, key_name), base_url=server.base_url)
    assert isinstance(client, AuthenticatedClient)
    response = amend_order_v2.sync_detailed("ord/1 x", client=client, body=BODY, subaccount=3)
    assert response.status_code == 200
    assert isinstance(response.parsed, AmendOrderV2Response)
    (received,) = server.received
    assert received.verdict == "ok"
    assert received.raw_path == "/trade-api/v2/portfolio/events/orders/ord%2F1%20x/amend?subaccount=3"
    assert received.headers["kalshi-access-key"] == key_name
    client.close()


@pytest.mark.parametrize("key_name", KEY_NAMES)
async def test_async_generated_call_on_the_same_client_object(
    server: SignatureCheckingServer, key_files: dict[str, KeyFiles], key_name: str
) -> None:
    client = make_client(_auth(key_files, key_name), base_url=server.base_url)
    sync_result = amend_order(client, "o1", BODY)
    async_result = await amend_order_async(client, "o2", BODY, subaccount=0)
    assert (sync_result.order_id, async_result.order_id) == ("o1", "o2")
    assert [r.verdict for r in server.received] == ["ok", "ok"]
    assert server.received[1].raw_path.endswith("/orders/o2/amend?subaccount=0")
    client.close()
    await client.aclose()


async def test_async_over_httpx_own_transport(
    server: SignatureCheckingServer, key_files: dict[str, KeyFiles]
) -> None:
    client = make_client(
        _auth(key_files, "rsa_pkcs1"), base_url=server.base_url, async_transport=httpx.AsyncHTTPTransport()
    )
    result = await amend_order_async(client, "o1", BODY)
    assert result.order_id == "o1"
    await client.aclose()


def test_bad_signature_is_a_401_rejection(
    server: SignatureCheckingServer, key_files: dict[str, KeyFiles]
) -> None:
    # A key the server does not know under this id: signed with the wrong key.
    auth = KalshiAuth("ed25519", load_private_key(key_files["rsa_pkcs1"].path))
    client = make_client(auth, base_url=server.base_url)
    with pytest.raises(Rejected) as caught:
        amend_order(client, "o1", BODY)
    assert caught.value.status == 401
    assert caught.value.code == "authentication_error"
    assert "INCORRECT_API_KEY_SIGNATURE" in str(caught.value)
    assert len(server.received) == 1  # a bad signature is not retried


def _reply_with(status: int, body: bytes, content_type: str = "text/html") -> object:
    def respond(_request: Received) -> Reply:
        return status, {"Content-Type": content_type}, body

    return respond


def test_520_with_html_is_a_catchable_outcome_carrying_status_and_body(
    server: SignatureCheckingServer, key_files: dict[str, KeyFiles]
) -> None:
    html = b"<html><body>Error 520: Web server is returning an unknown error</body></html>"
    server.respond = _reply_with(520, html)  # type: ignore[assignment]
    client = make_client(_auth(key_files, "ed25519"), base_url=server.base_url)
    # Straight through the generated function: HTTPStatus(520) would raise a bare ValueError.
    with pytest.raises(OutcomeUnknown) as caught:
        amend_order_v2.sync_detailed("o1", client=client, body=BODY)
    assert caught.value.status == 520
    assert caught.value.body == html
    assert "HTTP 520" in str(caught.value)
    assert "may have been applied" in str(caught.value)
    assert len(server.received) == 1


def test_redirect_is_not_followed(server: SignatureCheckingServer, key_files: dict[str, KeyFiles]) -> None:
    server.respond = lambda _r: (307, {"Location": "http://127.0.0.2:9/steal"}, b"")
    client = make_client(_auth(key_files, "ed25519"), base_url=server.base_url)
    with pytest.raises(OutcomeUnknown) as caught:
        amend_order(client, "o1", BODY)
    assert caught.value.status == 307
    assert len(server.received) == 1


def test_env_maps_to_the_spec_hosts(key_files: dict[str, KeyFiles]) -> None:
    auth = _auth(key_files, "ed25519")
    prod = make_client(auth, env="prod")
    demo = make_client(auth, env="demo")
    assert prod.get_httpx_client().base_url == "https://external-api.kalshi.com/trade-api/v2/"
    assert demo.get_httpx_client().base_url == "https://external-api.demo.kalshi.co/trade-api/v2/"


def test_safe_defaults(key_files: dict[str, KeyFiles]) -> None:
    client = make_client(_auth(key_files, "ed25519"), env="demo").get_httpx_client()
    assert client.follow_redirects is False
    assert client.timeout.read is not None and client.timeout.read <= 30
    assert client.timeout.connect is not None and client.timeout.connect <= 10
    transport = client._transport
    assert isinstance(transport, WireTransport)
    ssl_context = transport.pool.origin.tls
    assert ssl_context is not None
    assert ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert ssl_context.check_hostname is True


def test_verify_false_must_be_spelled_out(key_files: dict[str, KeyFiles]) -> None:
    client = make_client(_auth(key_files, "ed25519"), env="demo", verify=False).get_httpx_client()
    assert isinstance(client._transport, WireTransport)
    ssl_context = client._transport.pool.origin.tls
    assert ssl_context is not None and ssl_context.verify_mode == ssl.CERT_NONE
    # Through a proxy (httpcore's pool) too.
    proxied = make_client(
        _auth(key_files, "ed25519"), env="demo", verify=False, proxy="http://127.0.0.1:3128"
    ).get_httpx_client()
    assert isinstance(proxied._transport, BoundedHTTPTransport)
    proxied_context = proxied._transport._pool._ssl_context
    assert proxied_context is not None and proxied_context.verify_mode == ssl.CERT_NONE


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no exchange chosen: give env ('prod' or 'demo') or base_url"),
        ({"env": "demo", "base_url": "https://x.example"}, "give either env or base_url, not both"),
        ({"env": "staging"}, "unknown env 'staging': use one of prod, demo"),
        ({"base_url": "http://api.example.com/trade-api/v2"}, "plain http is refused for non-loopback host"),
        ({"base_url": "http://10.0.0.1/trade-api/v2"}, "plain http is refused for non-loopback host"),
        ({"base_url": "ftp://127.0.0.1/x"}, "base_url must be an http(s) URL"),
        ({"base_url": "https://api.example.com"}, "base_url must end in the API's base path /trade-api/v2"),
        ({"base_url": "https://api.example.com/trade-api"}, "base_url must end in the API's base path"),
        ({"base_url": "https://h.example/trade-api/v2/x"}, "base_url must end in the API's base path"),
        ({"base_url": "https://h.example/trade-api/v2?x=1"}, "base_url must end in the API's base path"),
        ({"env": "demo", "verify": "/nonexistent/ca.pem"}, "verify='/nonexistent/ca.pem': no such CA file"),
        ({"env": "demo", "verify": 3}, "verify must be True, False, an ssl.SSLContext or a CA file path"),
        ({"env": "demo", "max_response_bytes": 0}, "max_response_bytes must be a positive int"),
        ({"env": "demo", "deadline": 0}, "deadline must be a positive number of seconds"),
        ({"env": "demo", "proxy": "socks5://127.0.0.1:1"}, "proxy must be an http:// or https:// URL"),
        ({"env": "demo", "async_backend": "trio"}, "async_backend must be one of auto, aiohttp, httpx"),
        ({"env": "demo", "follow_redirects": True}, "follow_redirects is refused"),
        ({"env": "demo", "event_hooks": {}}, "event_hooks is set by make_client"),
    ],
)
def test_configuration_errors(
    key_files: dict[str, KeyFiles], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(KalshiConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_client(_auth(key_files, "ed25519"), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:1/trade-api/v2", "http://localhost:1/trade-api/v2/", "http://[::1]:1/trade-api/v2"],
)
def test_plain_http_allowed_to_loopback(key_files: dict[str, KeyFiles], url: str) -> None:
    client = make_client(_auth(key_files, "ed25519"), base_url=url)
    assert client.get_httpx_client().base_url == httpx.URL(url.rstrip("/") + "/")


def test_a_loopback_http_client_would_refuse_any_tls_peer(key_files: dict[str, KeyFiles]) -> None:
    # No CA bundle is loaded for plain http (it costs start-up time), but nothing is relaxed:
    # the context still requires a certificate and a matching host name, and trusts no CA.
    client = make_client(_auth(key_files, "ed25519"), base_url="http://127.0.0.1:1/trade-api/v2")
    transport = client.get_httpx_client()._transport
    assert isinstance(transport, WireTransport)
    assert transport.pool.origin.tls is None  # plain http: the pool never does TLS
    context = client.tls_context()  # what a pool through a proxy would get
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.get_ca_certs() == []


@pytest.mark.parametrize("async_backend", ["httpx", "aiohttp"])
def test_the_clock_hook_runs_first_and_can_note_on_every_transport(
    server: SignatureCheckingServer, key_files: dict[str, KeyFiles], async_backend: str
) -> None:
    auth = _auth(key_files, "ed25519")
    client = make_client(auth, base_url=server.base_url, async_backend=async_backend)
    sync_hooks = client.get_httpx_client().event_hooks["response"]
    assert sync_hooks[0] == auth.record_headers_arrival
    seen: list[object] = []

    async def run() -> None:
        http = client.get_async_httpx_client()
        assert http.event_hooks["response"][0] == auth.arecord_headers_arrival

        async def note(response: httpx.Response) -> None:
            seen.append(response.extensions.get(HEADERS_AT))

        http.event_hooks["response"].append(note)
        async with client:
            await amend_order_async(client, "o1", BODY)

    asyncio.run(run())
    assert isinstance(seen[0], float)  # the transport's extensions took the note


@pytest.mark.parametrize(
    "base_url",
    ["https://" + "a" * 70 + ".example.com/trade-api/v2", "https://xn--zz.example.com/trade-api/v2"],
)
def test_a_host_the_resolver_cannot_encode_is_bad_input_not_an_unknown_outcome(base_url: str) -> None:
    with pytest.raises(KalshiConfigError, match="not a usable URL"):
        resolve_base_url(None, base_url)


def test_a_ca_file_that_holds_no_certificate_is_refused_by_make_client(
    tmp_path: Path, key_files: dict[str, KeyFiles]
) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("this is not a certificate\n")
    auth = KalshiAuth("kid", key_files["ed25519"].path)
    with pytest.raises(KalshiConfigError, match="not a PEM file of CA certificates"):
        make_client(auth, base_url="https://127.0.0.1:9/trade-api/v2", verify=str(not_pem))


def test_async_without_httpx_aiohttp_says_so_before_sending(
    key_files: dict[str, KeyFiles], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Async runs on the pool of our own (auth_hooks.wire_async) with nothing installed but
    # the vendored packages. Through a proxy it needs httpx-aiohttp (httpx's own async
    # pool is several times slower than sync with many in flight), or an explicit
    # async_backend="httpx".
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)  # import fails as if not installed
    auth = KalshiAuth("kid", key_files["ed25519"].path)

    async def run(proxy: str | None = None, backend: str = "auto") -> None:
        async with make_client(
            auth, base_url="http://127.0.0.1:9/trade-api/v2", proxy=proxy, async_backend=backend
        ) as client:
            await amend_order_async(
                client, "ord-1", AmendOrderV2Request("T", BookSide.BID, "0.5600", "10.00")
            )

    with pytest.raises(NotSent):  # our own pool (nothing listens)
        asyncio.run(run())
    with pytest.raises(KalshiConfigError, match="pip install httpx-aiohttp"):
        asyncio.run(run("http://127.0.0.1:9"))
    with pytest.raises(NotSent):  # chosen explicitly: httpx's pool is used (nothing listens)
        asyncio.run(run("http://127.0.0.1:9", "httpx"))
