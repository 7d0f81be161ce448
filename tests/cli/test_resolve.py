"""kalshi-amend --resolve: an unknown outcome read back from the order, one exit code per verdict.

Faults are real: the local exchange answers 500/503 (having applied the amend or not),
the order is canceled or filled while the amend is on its way, and a server whose every
answer is 503 makes the read fail too.
"""

from __future__ import annotations

import json
import re
import ssl

import pytest
from kalshi_trade_api.api.orders import get_order

from auth_hooks import KalshiAuth, call_detailed, make_client
from kalshi_amend import cli
from kalshi_amend.cli import main
from local_exchange import Exchange, Fault, RunningServer, serve
from tests.cli.conftest import TICKER, RunCli
from tests.support.keys import KeyFiles
from tests.support.verifying_server import Received, Reply, SignatureCheckingServer

GENERATED = re.compile(r"updated client order id (\S+) was generated for --resolve")


def _bid(exchange: Exchange) -> str:
    return exchange.place_order("me", TICKER, "bid", "0.40", "10", client_order_id="mine-1")


def _args(order_id: str, *extra: str, price: str = "0.42", count: str = "10") -> list[str]:
    return [order_id, "--ticker", TICKER, "--side", "bid", "--price", price, "--count", count, *extra]


def _read_order(env: dict[str, str], server: RunningServer, order_id: str) -> bytes:
    """The Get Order body as the exchange sends it now, through a client of our own."""
    auth = KalshiAuth.from_env(env)
    verify = ssl.create_default_context(cafile=str(server.ca_path))
    with make_client(auth, base_url=env["KALSHI_BASE_URL"], verify=verify) as client:
        return call_detailed(get_order.sync_detailed, order_id, client=client).content


def test_exit_0_when_the_lost_answer_was_applied_prints_the_order_as_read(
    exchange: Exchange,
    env: dict[str, str],
    server: RunningServer,
    capsysbinary: pytest.CaptureFixture[bytes],
    run_cli: RunCli,
) -> None:
    order_id = _bid(exchange)
    exchange.fail_next(status=500, applied=True)
    assert run_cli([*_args(order_id), "--resolve"], env) == 0
    out, err_bytes = capsysbinary.readouterr()
    err = err_bytes.decode()
    assert "OUTCOME RESOLVED" in err and "APPLIED" in err
    (generated,) = GENERATED.findall(err)
    # stdout is the Get Order body exactly as received: the same bytes a read gives now.
    assert out == _read_order(env, server, order_id) + b"\n"
    order = json.loads(out)["order"]
    assert order["order_id"] == order_id
    assert order["client_order_id"] == generated
    assert order["yes_price_dollars"].startswith("0.42")
    assert exchange.post_count() == 1  # resolved by reading; never re-sent


def test_exit_0_with_the_callers_own_updated_client_order_id_generates_none(
    exchange: Exchange, env: dict[str, str], capsys: pytest.CaptureFixture[str], run_cli: RunCli
) -> None:
    order_id = _bid(exchange)
    exchange.fail_next(status=503, applied=True)
    assert run_cli([*_args(order_id, "--updated-client-order-id", "mine-2"), "--resolve"], env) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["order"]["client_order_id"] == "mine-2"
    assert "OUTCOME RESOLVED" in err
    assert not GENERATED.search(err)


def test_exit_0_without_a_fault_prints_the_amend_answer_and_the_generated_id(
    exchange: Exchange, env: dict[str, str], capsys: pytest.CaptureFixture[str], run_cli: RunCli
) -> None:
    order_id = _bid(exchange)
    assert run_cli([*_args(order_id), "--resolve"], env) == 0
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert answer["order_id"] == order_id  # the amend's own answer, not a Get Order body
    (generated,) = GENERATED.findall(err)
    assert exchange.order(order_id).client_order_id == generated


def test_exit_5_when_not_applied_as_of_the_read(
    exchange: Exchange, env: dict[str, str], capsys: pytest.CaptureFixture[str], run_cli: RunCli
) -> None:
    order_id = _bid(exchange)
    exchange.fail_next(status=503, applied=False)
    assert run_cli([*_args(order_id), "--resolve"], env) == 5
    out, err = capsys.readouterr()
    assert "NOT APPLIED as of the read" in err
    assert "can still arrive" in err
    order = json.loads(out)["order"]
    assert (order["yes_price_dollars"], order["client_order_id"], order["status"]) == (
        "0.4000",
        "mine-1",
        "resting",
    )
    assert GENERATED.search(err)  # reported even so: a late arrival would carry it
    assert exchange.post_count() == 1


class _ClosesTheOrderMeanwhile(Exchange):
    """Closes our order while the faulted amend is on its way (before it reaches the book)."""

    order_id = ""
    how = "cancel"

    def take_fault(self) -> Fault | None:
        fault = super().take_fault()
        if fault is not None:
            if self.how == "cancel":
                self.cancel_order(self.order_id)
            else:  # another trader takes all of it
                self.place_order("other", TICKER, "ask", "0.40", "10")
        return fault


@pytest.mark.parametrize(("how", "status"), [("cancel", "canceled"), ("fill", "executed")])
def test_exit_6_when_the_order_was_closed_meanwhile(
    key_files: dict[str, KeyFiles], capsys: pytest.CaptureFixture[str], how: str, status: str
) -> None:
    exchange = _ClosesTheOrderMeanwhile()
    exchange.add_market(TICKER)
    exchange.add_account("me", key_files["ed25519"].public_pem)
    exchange.add_account("other", key_files["rsa_pkcs8"].public_pem)
    exchange.how = how
    exchange.order_id = _bid(exchange)
    exchange.fail_next(status=503, applied=False)
    with serve(exchange, tls=True) as server:
        env = {
            "KALSHI_API_KEY_ID": "me",
            "KALSHI_PRIVATE_KEY_PATH": str(key_files["ed25519"].path),
            "KALSHI_BASE_URL": server.base_url,
        }
        argv = [*_args(exchange.order_id), "--resolve", "--ca-file", str(server.ca_path)]
        assert main(argv, env) == 6
    out, err = capsys.readouterr()
    assert "no longer resting" in err
    assert json.loads(out)["order"]["status"] == status


def test_exit_3_when_the_read_fails_too(
    key_files: dict[str, KeyFiles], capsys: pytest.CaptureFixture[str]
) -> None:
    def unavailable(_request: Received) -> Reply:
        return (
            503,
            {"Content-Type": "application/json"},
            b'{"code": "service_unavailable", "message": "down"}',
        )

    state = SignatureCheckingServer({"me": key_files["ed25519"].public_pem}, respond=unavailable)
    with state.running():
        env = {
            "KALSHI_API_KEY_ID": "me",
            "KALSHI_PRIVATE_KEY_PATH": str(key_files["ed25519"].path),
            "KALSHI_BASE_URL": state.base_url,
        }
        assert main([*_args("o1"), "--resolve"], env) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert "OUTCOME UNKNOWN" in err and "may have been applied" in err
    assert "reading the order back failed too" in err
    methods = [request.method for request in state.received]
    assert methods.count("POST") == 1  # the amend was never re-sent
    assert methods.count("GET") >= 2  # the read was retried (bounded)
    (generated,) = GENERATED.findall(err)
    assert f"updated client order id {generated})" in err


def test_without_resolve_an_unknown_outcome_is_still_exit_3_and_nothing_is_read(
    exchange: Exchange,
    env: dict[str, str],
    server: RunningServer,
    capsys: pytest.CaptureFixture[str],
    run_cli: RunCli,
) -> None:
    order_id = _bid(exchange)
    exchange.fail_next(status=500, applied=True)
    assert run_cli(_args(order_id), env) == 3
    assert not GENERATED.search(capsys.readouterr().err)
    assert not [record for record in exchange.requests if record.method == "GET"]


def test_help_lists_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"], {})
    out = capsys.readouterr().out
    codes = re.findall(r"^  ([0-9])  (\w+)", out, re.MULTILINE)
    assert codes == [
        ("0", "applied"),
        ("1", "rejected"),
        ("2", "bad"),
        ("3", "outcome"),
        ("4", "not"),
        ("0", "applied"),
        ("5", "not"),
        ("6", "order"),
        ("3", "still"),
    ]
    # The module docstring lists them too.
    for code in ("5  not applied as of the read", "6  the order is no longer resting", "3  still unknown"):
        assert code in (cli.__doc__ or "")


def test_verbose_shows_the_read_back_too(
    exchange: Exchange, env: dict[str, str], capsys: pytest.CaptureFixture[str], run_cli: RunCli
) -> None:
    order_id = _bid(exchange)
    exchange.fail_next(status=503, applied=False)
    assert run_cli([*_args(order_id), "--resolve", "-v"], env) == 5
    err = capsys.readouterr().err
    assert f"> POST {env['KALSHI_BASE_URL']}/portfolio/events/orders/{order_id}/amend" in err
    assert "< HTTP 503 in " in err
    assert f"> GET {env['KALSHI_BASE_URL']}/portfolio/orders/{order_id}" in err
    assert "< HTTP 200 in " in err
    assert err.index("> GET") > err.index("> POST")
