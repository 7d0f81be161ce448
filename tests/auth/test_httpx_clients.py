"""The lean httpx clients build exactly the requests plain httpx builds."""

from __future__ import annotations

import httpx
import pytest
from kalshi_trade_api.models import AmendOrderV2Request, BookSide

from auth_hooks import KalshiAuth, amend_order, load_private_key, make_client
from auth_hooks.httpx_clients import URL_CACHE_SIZE, LeanAsyncClient, LeanClient
from tests.support.keys import KeyFiles
from tests.support.verifying_server import Received, Reply, SignatureCheckingServer, ok_reply

BASE = "https://external-api.demo.kalshi.co/trade-api/v2"
CASES = [
    ("/portfolio/events/orders/abc/amend", {}),
    ("/portfolio/events/orders/abc/amend", {"subaccount": 3}),
    ("/portfolio/events/orders/abc/amend", {"subaccount": 0}),
    ("/portfolio/events/orders/ab%20c%2F1/amend", {}),
    ("/portfolio/events/orders/ab%20c%2F1/amend", {"subaccount": 63}),
    ("/portfolio/events/orders/xyz/amend", None),
    ("/portfolio/events/orders/xyz/amend", {"flag": True}),  # not cached: bool is not int here
]


@pytest.mark.parametrize("lean_class", [LeanClient, LeanAsyncClient])
def test_same_urls_as_plain_httpx_first_time_and_from_the_cache(lean_class: type) -> None:
    plain = httpx.Client(base_url=BASE)
    lean = lean_class(base_url=BASE)
    for _ in range(2):  # the second round comes from the cache
        for path, params in CASES:
            expected = plain.build_request("POST", path, params=params, json={"a": 1})
            built = lean.build_request("POST", path, params=params, json={"a": 1})
            assert built.url == expected.url
            assert built.url.raw_path == expected.url.raw_path
            assert built.content == expected.content
            assert dict(built.headers) == dict(expected.headers)


def test_the_cache_is_bounded() -> None:
    lean = LeanClient(base_url=BASE)
    for n in range(URL_CACHE_SIZE + 10):
        request = lean.build_request("POST", f"/portfolio/events/orders/o{n}/amend", params={})
        assert request.url.path == f"/trade-api/v2/portfolio/events/orders/o{n}/amend"
    assert len(lean._url_cache._urls) <= URL_CACHE_SIZE


def test_response_cookies_are_not_kept(key_files: dict[str, KeyFiles]) -> None:
    def respond(request: Received) -> Reply:
        status, headers, body = ok_reply(request)
        return status, {**headers, "Set-Cookie": "__cf_bm=abc; Path=/"}, body

    server = SignatureCheckingServer({"k": key_files["ed25519"].public_pem}, respond=respond)
    body = AmendOrderV2Request(ticker="T", side=BookSide.BID, price="0.5600", count="10.00")
    with server.running():
        client = make_client(
            KalshiAuth("k", load_private_key(key_files["ed25519"].path)), base_url=server.base_url
        )
        for _ in range(2):
            amend_order(client, "o", body)
        client.close()
    assert [r.headers.get("cookie") for r in server.received] == [None, None]
