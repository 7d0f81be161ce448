"""``kalshi-amend``: amends one resting order and says plainly what happened.

Exit codes, one per outcome class (see auth_hooks.errors):

    0  applied: the exchange's JSON answer, exactly as received, on stdout
    1  rejected (HTTP 4xx): not applied; ``HTTP <status> <code>: <message>`` on stderr
    2  bad input or configuration, found before anything was sent
    3  outcome unknown (timeout or connection lost after sending, HTTP 5xx): the amend
       may have been applied; nothing was re-sent
    4  not sent (connection could not be made): safe to run again

With ``--resolve``, an unknown outcome is resolved by reading the order back (Get
Order; the amend itself is never sent again), and exits:

    0  applied after all: the Get Order body (``{"order": {...}}``), exactly as
       received, on stdout; stderr says the outcome was resolved
    5  not applied as of the read: the order, as read, on stdout. A delayed amend can
       still arrive until its signed timestamp expires at the exchange
    6  the order is no longer resting (executed or canceled): the order on stdout
    3  still unknown: reading the order failed too

``--resolve`` without ``--updated-client-order-id`` has the library generate one (so
the read-back is exact); it is reported on stderr, since the order's client order id
becomes it if the amend was applied.

The amend's flags (``--ticker`` ... ``--expiration-time``, ``--subaccount``) are made
from the generated request model and operation (see kalshi_amend.model_flags): a field
added to openapi.yaml is a flag after ``make generate``, with no edit here.
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import attrs
import httpx
from kalshi_trade_api.api.orders import amend_order_v2
from kalshi_trade_api.models import AmendOrderV2Request

from auth_hooks import (
    AmendNotApplied,
    AmendResolution,
    KalshiAuth,
    KalshiClient,
    KalshiConfigError,
    NotSent,
    OrderClosed,
    OutcomeUnknown,
    Rejected,
    make_client,
)
from auth_hooks.client import DEFAULT_TIMEOUT
from auth_hooks.fixed_point import format_count, format_price
from auth_hooks.outcomes import MAX_SUBACCOUNT, ResolvedAmend, amend_order_detailed

from . import model_flags
from .model_flags import ModelFlag

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_UNKNOWN, EXIT_NOT_SENT = 0, 1, 2, 3, 4
EXIT_NOT_APPLIED, EXIT_ORDER_CLOSED = 5, 6
PROG = "kalshi-amend"

# What the amend's flags are made from. Module attributes, so a test can swap in a
# model with a field the spec does not have yet.
REQUEST_MODEL: type[AmendOrderV2Request] = AmendOrderV2Request
OPERATION: Callable[..., Any] = amend_order_v2.sync_detailed


class _UsageError(Exception):
    """Bad input: one line naming the option at fault."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints the whole usage block; a bot's log wants the one line at fault.
        raise _UsageError(message)


@attrs.frozen
class _Refinement:
    """What the CLI adds to a generated flag: plainer help, or a check the model lacks.

    Keyed by field name. The flags themselves all come from the generated code; a name
    here that the generated code no longer has is unused (and tests/cli fails on it).
    """

    help: str | None = None
    check: Callable[[Any], Any] | None = None  # value -> value sent; KalshiConfigError if bad


def _not_empty(text: str) -> str:
    if not text.strip():
        raise KalshiConfigError("must not be empty")
    return text


def _subaccount(number: int) -> int:
    if not 0 <= number <= MAX_SUBACCOUNT:
        raise KalshiConfigError(f"must be between 0 and {MAX_SUBACCOUNT}, got {number}")
    return number


def _expiration_time(seconds: int) -> int:
    if seconds < 0:  # the spec's "minimum: 0", which the generated model does not check
        raise KalshiConfigError(f"must be 0 or a Unix time in seconds, got {seconds}")
    return seconds


REFINEMENTS: dict[str, _Refinement] = {
    "ticker": _Refinement(check=_not_empty),
    # Price and count go through the library's own formatters: the CLI accepts exactly
    # what amend_order would, and says which flag was wrong.
    "price": _Refinement("new price in dollars, 0 < P < 1, up to 4 decimals", format_price),
    "count": _Refinement("new TOTAL count (filled + resting), > 0, up to 2 decimals", format_count),
    "subaccount": _Refinement(f"0 (primary) to {MAX_SUBACCOUNT}", _subaccount),
    "expiration_time": _Refinement(check=_expiration_time),
}


_EPILOG = """\
exit codes:
  0  applied: the exchange's answer on stdout, exactly as received
  1  rejected (HTTP 4xx): not applied
  2  bad input or configuration: nothing was sent
  3  outcome unknown (timeout or connection lost after sending, HTTP 5xx):
     may have been applied; nothing was re-sent
  4  not sent (no connection): safe to run again
with --resolve, an unknown outcome is read back (Get Order) and ends in:
  0  applied: the order as read on stdout ({"order": {...}}, exactly as received)
  5  not applied as of the read (the order on stdout); a delayed amend can
     still arrive until its signed timestamp expires: read again before re-sending
  6  order no longer resting, executed or canceled (the order on stdout)
  3  still unknown: the read failed too

environment: KALSHI_API_KEY_ID, KALSHI_PRIVATE_KEY_PATH (or KALSHI_PRIVATE_KEY
with the PEM), KALSHI_PRIVATE_KEY_PASSWORD, KALSHI_ENV, KALSHI_BASE_URL
"""


@attrs.frozen
class Command:
    """The parser, and the flags made from the generated code (what each one fills in)."""

    parser: argparse.ArgumentParser
    body_flags: list[ModelFlag]
    query_flags: list[ModelFlag]


def build_command() -> Command:
    parser = _Parser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keep the exit code table's lines
        description="Amend a resting Kalshi order (price, total count, expiry).\n"
        "Never defaults to production: choose --env or --base-url.",
        epilog=_EPILOG,
    )
    parser.add_argument("order_id", metavar="ORDER_ID", help="the exchange's order id")
    # Groups print in the order made: the amend's flags first, the connection's after.
    # The connection's options are known first, so that a field of the same name gets
    # a prefixed flag instead of breaking the command.
    own = _connection_options(argparse.ArgumentParser(add_help=False))
    taken = {"-h", "--help"} | {option for action in own for option in action.option_strings}
    body_flags = model_flags.body_flags(REQUEST_MODEL, taken=taken)
    taken |= {flag.option for flag in body_flags}
    query_flags = model_flags.query_flags(OPERATION, taken=taken)
    amend = parser.add_argument_group("the amend (flags made from the API spec)")
    for flag in [*body_flags, *query_flags]:
        flag.add_to(amend, REFINEMENTS.get(flag.name, _Refinement()).help)
    _connection_options(parser.add_argument_group("connection and output"))
    return Command(parser, body_flags, query_flags)


def _connection_options(group: argparse._ActionsContainer) -> list[argparse.Action]:
    where = group.add_mutually_exclusive_group()
    return [
        where.add_argument("--env", choices=["prod", "demo"], help="Kalshi environment (or KALSHI_ENV)"),
        where.add_argument(
            "--base-url", help="API base URL, e.g. http://127.0.0.1:8000/trade-api/v2 (or KALSHI_BASE_URL)"
        ),
        group.add_argument("--key-id", help="API key id (or KALSHI_API_KEY_ID)"),
        group.add_argument(
            "--private-key", metavar="PATH", help="private key PEM file (or KALSHI_PRIVATE_KEY_PATH)"
        ),
        group.add_argument(
            "--ca-file",
            metavar="PATH",
            help="PEM file of the CA(s) to trust for the exchange's TLS certificate, "
            "e.g. the local exchange's (default: the system's)",
        ),
        group.add_argument(
            "--resolve",
            action="store_true",
            help="after an unknown outcome, read the order back and say what happened (exit 0, 5, 6 "
            "or 3); without --updated-client-order-id, one is generated and shown on stderr",
        ),
        group.add_argument("--timeout", default="10", help="seconds to wait for the exchange (default 10)"),
        group.add_argument(
            "-v", "--verbose", action="store_true", help="show the exchange conversation on stderr"
        ),
    ]


def _values(flags: list[ModelFlag], args: argparse.Namespace) -> dict[str, Any]:
    try:
        values = model_flags.values_of(flags, args)
    except model_flags.FlagValueError as exc:
        raise _UsageError(str(exc)) from None
    for flag in flags:
        check = REFINEMENTS.get(flag.name, _Refinement()).check
        if check is not None and flag.name in values:
            try:
                values[flag.name] = check(values[flag.name])
            except KalshiConfigError as exc:
                raise _UsageError(f"{flag.option}: {exc}") from None
    return values


def _build_request(command: Command, args: argparse.Namespace) -> tuple[AmendOrderV2Request, dict[str, Any]]:
    """The request body and the query parameters, from the flags."""
    if not args.order_id.strip():
        raise _UsageError("ORDER_ID: must not be empty")
    body = REQUEST_MODEL(**_values(command.body_flags, args))
    return body, _values(command.query_flags, args)


def _timeout(text: str) -> float:
    try:
        seconds = float(text)  # a duration, not money: float is right here
    except ValueError:
        raise _UsageError(f"--timeout: not a number of seconds: {text!r}") from None
    if not 0 < seconds <= 600:
        raise _UsageError(f"--timeout: must be more than 0 and at most 600 seconds, got {text}")
    return seconds


def _verify(ca_file: str | None) -> bool | ssl.SSLContext:
    if ca_file is None:
        return True
    # Loaded here rather than passed on as a path, so a bad file is exit 2 naming the flag.
    try:
        return ssl.create_default_context(cafile=os.path.expanduser(ca_file))
    except FileNotFoundError:
        raise _UsageError(f"--ca-file: no such file: {ca_file}") from None
    except (OSError, ssl.SSLError) as exc:
        raise _UsageError(
            f"--ca-file: not a readable PEM file of CA certificates: {ca_file} ({exc})"
        ) from None


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
    verify = _verify(args.ca_file)
    # A dead host should say "not sent" quickly: connecting gets at most 3 s a try.
    timeout = httpx.Timeout(seconds, connect=min(seconds, DEFAULT_TIMEOUT.connect or seconds))
    try:
        return make_client(auth, env=env, base_url=base_url, timeout=timeout, verify=verify)
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

    # After the auth's first hook, which times the headers' arrival before any body is
    # read (its clock reading); before the check that classifies the answer.
    response_hooks = list(httpx_client.event_hooks["response"])
    response_hooks.insert(1, on_response)
    httpx_client.event_hooks = {"request": [on_request], "response": response_hooks}


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
        command = build_command()
        args = command.parser.parse_args(argv)
        body, query = _build_request(command, args)
        client = _build_client(args, environ)
    except _UsageError as exc:
        _say(f"error: {exc}")
        return EXIT_USAGE
    if args.verbose:
        _show_conversation(client)
    try:
        with client:
            result = amend_order_detailed(client, args.order_id, body, resolve=args.resolve, **query)
    except KalshiConfigError as exc:  # refused before sending, e.g. an order id of ".."
        _say(f"error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:  # the amend may already be on its way
        _say(f"interrupted: OUTCOME UNKNOWN for order {args.order_id}; nothing was re-sent. Check the order.")
        return EXIT_UNKNOWN
    except Rejected as exc:
        _say(str(exc.reason))
        return EXIT_REJECTED
    except AmendNotApplied as exc:
        _say_generated_id(body, exc.updated_client_order_id)
        _say(
            f"OUTCOME RESOLVED for order {args.order_id}: NOT APPLIED as of the read. {_as_read(exc.resolution)}"
        )
        _say(
            "A delayed amend can still arrive until its signed timestamp expires at the exchange: "
            "read the order again before sending a new one."
        )
        _print(exc.resolution.content)
        return EXIT_NOT_APPLIED
    except OrderClosed as exc:
        _say_generated_id(body, exc.updated_client_order_id)
        _say(
            f"OUTCOME RESOLVED for order {args.order_id}: the order is no longer resting, "
            f"the amend no longer matters. {_as_read(exc.resolution)}"
        )
        _print(exc.resolution.content)
        return EXIT_ORDER_CLOSED
    except OutcomeUnknown as exc:
        _say_generated_id(body, exc.updated_client_order_id)
        which = f"order {args.order_id}"
        if exc.updated_client_order_id:
            which += f" (updated client order id {exc.updated_client_order_id})"
        _say(
            f"OUTCOME UNKNOWN for {which}: the amend may have been applied; nothing was re-sent. Check the order. Cause: {exc.reason}"
        )
        return EXIT_UNKNOWN
    except NotSent as exc:
        hint = " (for a private CA, such as the local exchange's, give --ca-file)"
        _say(f"not sent, safe to run again: {exc.reason}{hint if _certificate_refused(exc) else ''}")
        return EXIT_NOT_SENT
    if isinstance(result, ResolvedAmend):
        _say_generated_id(body, result.updated_client_order_id)
        _say(
            f"OUTCOME RESOLVED for order {args.order_id}: APPLIED (its answer was lost; the order, "
            f"read back, shows the amend). {_as_read(result.resolution)} The order as read is on stdout."
        )
        _print(result.resolution.content)
    else:
        _say_generated_id(body, result.updated_client_order_id if args.resolve else None)
        _print(result.content)
    return EXIT_OK


def _certificate_refused(exc: BaseException) -> bool:
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return any(
        isinstance(link, ssl.SSLCertVerificationError) or "certificate verify failed" in str(link)
        for link in chain
    )


def _print(content: bytes | None) -> None:
    sys.stdout.buffer.write((content or b"") + b"\n")
    sys.stdout.flush()


def _say_generated_id(asked: AmendOrderV2Request, sent: object) -> None:
    """--resolve without --updated-client-order-id: the id the library chose, to adopt."""
    if isinstance(sent, str) and sent != asked.updated_client_order_id:
        _say(
            f"updated client order id {sent} was generated for --resolve "
            "(the order's client order id becomes it when the amend is applied)"
        )


def _as_read(resolution: AmendResolution) -> str:
    order = resolution.order
    if order is None:
        return ""
    read_at = f" at {resolution.read_at:%H:%M:%S} UTC" if resolution.read_at else ""
    return (
        f"Read{read_at}: {order.status}, YES price {order.yes_price_dollars}, "
        f"filled {order.fill_count_fp} + resting {order.remaining_count_fp}, "
        f"client order id {order.client_order_id}."
    )
