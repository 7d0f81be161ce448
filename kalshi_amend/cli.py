"""``kalshi-amend``: amends one resting order and says plainly what happened.

Exit codes, one per outcome class (see auth_hooks.errors):

    0  applied: the exchange's JSON answer, exactly as received, on stdout
    1  rejected (HTTP 4xx): not applied; ``HTTP <status> <code>: <message>`` on stderr
    2  bad input or configuration, found before anything was sent
    3  outcome unknown (timeout or connection lost after sending, HTTP 5xx): the amend
       may have been applied; nothing was re-sent
    4  not sent (connection could not be made): safe to run again
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import NoReturn

import httpx
from kalshi_trade_api.models import AmendOrderV2Request, BookSide
from kalshi_trade_api.types import UNSET

from auth_hooks import (
    KalshiAuth,
    KalshiClient,
    KalshiConfigError,
    NotSent,
    OutcomeUnknown,
    Rejected,
    make_client,
)
from auth_hooks.client import DEFAULT_TIMEOUT
from auth_hooks.fixed_point import format_count, format_price
from auth_hooks.outcomes import amend_order_detailed

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_UNKNOWN, EXIT_NOT_SENT = 0, 1, 2, 3, 4
PROG = "kalshi-amend"


class _UsageError(Exception):
    """Bad input: one line naming the option at fault."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints the whole usage block; a bot's log wants the one line at fault.
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Amend a resting Kalshi order (price, total count, expiry). "
        "Never defaults to production: choose --env or --base-url.",
        epilog="Environment: KALSHI_API_KEY_ID, KALSHI_PRIVATE_KEY_PATH (or KALSHI_PRIVATE_KEY with the PEM), "
        "KALSHI_PRIVATE_KEY_PASSWORD, KALSHI_ENV, KALSHI_BASE_URL. "
        "Exit: 0 applied, 1 rejected, 2 bad input, 3 outcome unknown, 4 not sent.",
    )
    parser.add_argument("order_id", metavar="ORDER_ID", help="the exchange's order id")
    parser.add_argument("--ticker", required=True, help="market ticker of the order")
    parser.add_argument("--side", required=True, choices=[side.value for side in BookSide])
    parser.add_argument("--price", required=True, help="new price in dollars, 0 < P < 1, up to 4 decimals")
    parser.add_argument(
        "--count", required=True, help="new TOTAL count (filled + resting), > 0, up to 2 decimals"
    )
    parser.add_argument("--client-order-id", help="the order's current client order id")
    parser.add_argument("--updated-client-order-id", help="a new client order id for the order")
    parser.add_argument("--subaccount", type=int, help="0 (primary) to 63")
    parser.add_argument("--exchange-index", type=int, help="exchange shard; omitted lets the exchange route")
    parser.add_argument(
        "--expiration-time", type=int, metavar="UNIX_SECONDS", help="new expiry; 0 = good till cancelled"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--env", choices=["prod", "demo"], help="Kalshi environment (or KALSHI_ENV)")
    where.add_argument(
        "--base-url", help="API base URL, e.g. http://127.0.0.1:8000/trade-api/v2 (or KALSHI_BASE_URL)"
    )
    parser.add_argument("--key-id", help="API key id (or KALSHI_API_KEY_ID)")
    parser.add_argument(
        "--private-key", metavar="PATH", help="private key PEM file (or KALSHI_PRIVATE_KEY_PATH)"
    )
    parser.add_argument("--timeout", default="10", help="seconds to wait for the exchange (default 10)")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the exchange conversation on stderr"
    )
    return parser


def _build_body(args: argparse.Namespace) -> AmendOrderV2Request:
    if not args.order_id.strip():
        raise _UsageError("ORDER_ID: must not be empty")
    if not args.ticker.strip():
        raise _UsageError("--ticker: must not be empty")
    if args.subaccount is not None and not 0 <= args.subaccount <= 63:
        raise _UsageError(f"--subaccount: must be between 0 and 63, got {args.subaccount}")
    if args.expiration_time is not None and args.expiration_time < 0:
        raise _UsageError(
            f"--expiration-time: must be 0 or a Unix time in seconds, got {args.expiration_time}"
        )
    try:
        price = format_price(args.price)
    except KalshiConfigError as exc:
        raise _UsageError(f"--price: {exc}") from None
    try:
        count = format_count(args.count)
    except KalshiConfigError as exc:
        raise _UsageError(f"--count: {exc}") from None
    return AmendOrderV2Request(
        ticker=args.ticker,
        side=BookSide(args.side),
        price=price,
        count=count,
        client_order_id=args.client_order_id if args.client_order_id is not None else UNSET,
        updated_client_order_id=(
            args.updated_client_order_id if args.updated_client_order_id is not None else UNSET
        ),
        exchange_index=args.exchange_index if args.exchange_index is not None else UNSET,
        expiration_time=args.expiration_time if args.expiration_time is not None else UNSET,
    )


def _timeout(text: str) -> float:
    try:
        seconds = float(text)  # a duration, not money: float is right here
    except ValueError:
        raise _UsageError(f"--timeout: not a number of seconds: {text!r}") from None
    if not 0 < seconds <= 600:
        raise _UsageError(f"--timeout: must be more than 0 and at most 600 seconds, got {text}")
    return seconds


def _build_client(args: argparse.Namespace, environ: Mapping[str, str]) -> KalshiClient:
    # Flags override the environment; KalshiAuth.from_env is the one reader of both.
    settings = dict(environ)
    if args.key_id:
        settings["KALSHI_API_KEY_ID"] = args.key_id
    if args.private_key:
        settings["KALSHI_PRIVATE_KEY_PATH"] = args.private_key
        settings.pop("KALSHI_PRIVATE_KEY", None)
    try:
        auth = KalshiAuth.from_env(settings)
    except KalshiConfigError as exc:
        raise _UsageError(f"key: {exc}") from None

    if args.env or args.base_url:
        env, base_url = args.env, args.base_url
    else:
        env, base_url = environ.get("KALSHI_ENV") or None, environ.get("KALSHI_BASE_URL") or None
    seconds = _timeout(args.timeout)
    # A dead host should say "not sent" quickly: connecting gets at most 3 s a try.
    timeout = httpx.Timeout(seconds, connect=min(seconds, DEFAULT_TIMEOUT.connect or seconds))
    try:
        return make_client(auth, env=env, base_url=base_url, timeout=timeout)
    except KalshiConfigError as exc:
        what = "env" if env and not base_url else "base-url" if base_url and not env else "env/base-url"
        raise _UsageError(f"{what}: {exc}") from None


def _show_conversation(client: KalshiClient) -> None:
    """-v: method, URL, status, time and body on stderr; headers (the signature) never."""
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG, format=f"{PROG}: %(message)s")
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    httpx_client = client.get_httpx_client()

    def on_request(request: httpx.Request) -> None:
        _say(f"> {request.method} {request.url}")
        _say(f"> {request.content.decode('utf-8', 'replace')}")

    def on_response(response: httpx.Response) -> None:
        response.read()  # httpx stamps elapsed once the body is in
        _say(f"< HTTP {response.status_code} in {response.elapsed.total_seconds() * 1000:.1f} ms")
        _say(f"< {response.content.decode('utf-8', 'replace')}")

    httpx_client.event_hooks = {
        "request": [on_request],
        "response": [on_response, *httpx_client.event_hooks["response"]],
    }


def _say(line: str) -> None:
    print(f"{PROG}: {line}", file=sys.stderr)


def _one_line_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, line: str | None = None
) -> str:
    return f"{PROG}: warning: {message}\n"


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    warnings.formatwarning = _one_line_warning
    try:
        args = _parser().parse_args(argv)
        body = _build_body(args)
        client = _build_client(args, environ)
    except _UsageError as exc:
        _say(f"error: {exc}")
        return EXIT_USAGE
    if args.verbose:
        _show_conversation(client)
    subaccount = args.subaccount if args.subaccount is not None else UNSET
    try:
        with client:
            response = amend_order_detailed(client, args.order_id, body, subaccount=subaccount)
    except KalshiConfigError as exc:  # refused before sending, e.g. an order id of ".."
        _say(f"error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:  # the amend may already be on its way
        _say(f"interrupted: OUTCOME UNKNOWN for order {args.order_id}; nothing was re-sent. Check the order.")
        return EXIT_UNKNOWN
    except Rejected as exc:
        _say(str(exc.reason))
        return EXIT_REJECTED
    except OutcomeUnknown as exc:
        which = f"order {args.order_id}"
        if args.updated_client_order_id:
            which += f" (updated client order id {args.updated_client_order_id})"
        _say(
            f"OUTCOME UNKNOWN for {which}: the amend may have been applied; nothing was re-sent. Check the order. Cause: {exc.reason}"
        )
        return EXIT_UNKNOWN
    except NotSent as exc:
        _say(f"not sent, safe to run again: {exc.reason}")
        return EXIT_NOT_SENT
    sys.stdout.buffer.write(response.content + b"\n")
    sys.stdout.flush()
    return EXIT_OK
