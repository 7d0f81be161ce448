"""kalshi-amend: every exit code, the env-var configuration, and what -v shows."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kalshi_trade_api.models import AmendOrderV2Request, BookSide
from kalshi_trade_api.types import UNSET

from auth_hooks import KalshiConfigError
from auth_hooks.outcomes import check_amend_arguments
from kalshi_amend import cli
from kalshi_amend.cli import main
from local_exchange import Exchange, RunningServer
from tests.cli.conftest import TICKER, RunCli
from tests.support.keys import PASSWORD, KeyFiles
from tests.support.verifying_server import Received, Reply, SignatureCheckingServer


def _order(exchange: Exchange, price: str = "0.40", count: str = "10", **kwargs: object) -> str:
    return exchange.place_order("me", TICKER, "bid", price, count, **kwargs)  # type: ignore[arg-type]


def _args(order_id: str, *extra: str, price: str = "0.45", count: str = "10") -> list[str]:
    return [order_id, "--ticker", TICKER, "--side", "bid", "--price", price, "--count", count, *extra]


def test_exit_0_prints_the_answer_exactly_as_received(
    exchange: Exchange, env: dict[str, str], capsys: pytest.CaptureFixture[str], run_cli: RunCli
) -> None:
    order_id = _order(exchange)
    exchange.place_order("other", TICKER, "ask", "0.45", "4")
    assert run_cli(_args(order_id, "--updated-client-order-id", "new-1"), env) == 0
    out, err = capsys.readouterr()
    assert err == ""
    answer = json.loads(out)
    assert answer["order_id"] == order_id
    assert answer["fill_count"] == "4.00"
    assert answer["remaining_count"] == "6.00"
    assert answer["average_fill_price"] == "0.450000"
    # 0.07 x 4 x 0.45 x 0.55 = 0.0693 exactly: 0.017325 per contract.
    assert answer["average_fee_paid"] == "0.017325"
    assert answer["client_order_id"] == "new-1"


def test_exit_0_with_absent_fields_staying_absent(
    exchange: Exchange, env: dict[str, str], capsys: pytest.CaptureFixture[str], run_cli: RunCli
) -> None:
    order_id = _order(exchange)
    # An expiry-only style amend: same price and count, nothing filled or resized.
    assert run_cli(_args(order_id, price="0.40", count="10"), env) == 0
    answer = json.loads(capsys.readouterr().out)
    assert set(answer) <= {"order_id", "ts_ms", "client_order_id"}


def test_price_and_count_go_out_fixed_point(
    key_files: dict[str, KeyFiles], capsys: pytest.CaptureFixture[str]
) -> None:
    state = SignatureCheckingServer({"me": key_files["ed25519"].public_pem})
    with state.running():
        env = {
            "KALSHI_API_KEY_ID": "me",
            "KALSHI_PRIVATE_KEY_PATH": str(key_files["ed25519"].path),
            "KALSHI_BASE_URL": state.base_url,
        }
        assert main(_args("o1", "--subaccount", "3", price="0.56", count="10"), env) == 0
    (received,) = state.received
    assert json.loads(received.body) == {"ticker": TICKER, "side": "bid", "price": "0.5600", "count": "10.00"}
    assert received.raw_path.endswith("/orders/o1/amend?subaccount=3")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("setup", "status", "line"),
    [
        ("unknown order", 404, r"^kalshi-amend: HTTP 404 not_found: order .* not found$"),
        ("count below filled", 400, r"^kalshi-amend: HTTP 400 invalid_parameters: .*count"),
        ("used client order id", 409, r"^kalshi-amend: HTTP 409 order_already_exists: "),
        ("rate limited", 429, r"^kalshi-amend: HTTP 429 -: too many requests$"),
    ],
)
def test_exit_1_rejected_gives_one_readable_line(
    exchange: Exchange,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    setup: str,
    status: int,
    line: str,
    run_cli: RunCli,
) -> None:
    order_id = _order(exchange, client_order_id="taken")
    extra: list[str] = []
    count = "10"
    if setup == "unknown order":
        order_id = "no-such-order"
    elif setup == "count below filled":
        exchange.place_order("other", TICKER, "ask", "0.45", "4")
        assert run_cli(_args(order_id), env) == 0  # fills 4
        capsys.readouterr()
        count = "3"
    elif setup == "used client order id":
        extra = ["--updated-client-order-id", "taken"]
    elif setup == "rate limited":
        exchange.write_bucket_size = 5.0  # less than one amend's 10 tokens
    assert run_cli(_args(order_id, *extra, count=count), env) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert re.match(line, err.strip()), err


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (499, b"<html>client closed</html>", "kalshi-amend: HTTP 499 -: <html>client closed</html>"),
        (400, b"{truncated", "kalshi-amend: HTTP 400 -: {truncated"),
        (403, b'{"msg": "forbidden"}', "kalshi-amend: HTTP 403 -: forbidden"),
        (
            401,
            b'{"code": "bad_request", "message": "bad key"}',
            "kalshi-amend: HTTP 401 bad_request: bad key",
        ),
    ],
)
def test_exit_1_for_odd_4xx_bodies_and_statuses(
    key_files: dict[str, KeyFiles],
    capsys: pytest.CaptureFixture[str],
    status: int,
    body: bytes,
    expected: str,
) -> None:
    def respond(_request: Received) -> Reply:
        return status, {"Content-Type": "text/plain"}, body

    state = SignatureCheckingServer({"me": key_files["ed25519"].public_pem}, respond=respond)
    with state.running():
        env = {
            "KALSHI_API_KEY_ID": "me",
            "KALSHI_PRIVATE_KEY_PATH": str(key_files["ed25519"].path),
            "KALSHI_BASE_URL": state.base_url,
        }
        assert main(_args("o1"), env) == 1
    assert capsys.readouterr().err.strip() == expected


@pytest.mark.parametrize(
    ("argv_change", "message"),
    [
        (["--price", "1.00"], "--price: price must be between 0 and 1"),
        (["--price", "0.56789"], "--price: price has more than 4 decimal places"),
        (["--price", "NaN"], "--price: price must be a plain decimal number"),
        (["--price", "5e-1"], "--price: price must be a plain decimal number"),
        (["--count", "0"], "--count: count must be greater than 0"),
        (["--count", "1.234"], "--count: count has more than 2 decimal places"),
        (["--count", "inf"], "--count: count must be a plain decimal number"),
        (["--side", "buy"], "argument --side: invalid choice: 'buy'"),
        (["--subaccount", "64"], "--subaccount: must be between 0 and 63"),
        (["--subaccount=-1"], "--subaccount: must be between 0 and 63"),
        (["--subaccount", "x"], "argument --subaccount: invalid int value"),
        (["--expiration-time", "-5"], "--expiration-time: must be 0 or a Unix time"),
        (["--timeout", "0"], "--timeout: must be more than 0"),
        (["--ticker", ""], "--ticker: must not be empty"),
    ],
)
def test_exit_2_bad_input_names_the_option_and_sends_nothing(
    exchange: Exchange,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    argv_change: list[str],
    message: str,
    run_cli: RunCli,
) -> None:
    order_id = _order(exchange)
    assert run_cli([*_args(order_id), *argv_change], env) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err
    assert exchange.post_count() == 0


@pytest.mark.parametrize(
    ("price", "count", "subaccount"),
    [("0.56", "10", "0"), ("00000.56", "0010", "63"), (".5", "1.5", "3"), ("0.5600", "10.00", None)],
)
def test_what_the_cli_accepts_passes_the_librarys_own_checks(
    price: str, count: str, subaccount: str | None
) -> None:
    # One set of rules (issue 11): the CLI formats what it is given, and the library's
    # checks, which amend_order applies before sending, accept the result.
    extra = ["--subaccount", subaccount] if subaccount is not None else []
    command = cli.build_command()
    args = command.parser.parse_args(_args("o1", *extra, price=price, count=count))
    body, query = cli._build_request(command, args)
    check_amend_arguments("o1", body, query.get("subaccount", UNSET))


@pytest.mark.parametrize("subaccount", [-1, 64])
def test_the_subaccount_range_is_the_librarys(subaccount: int) -> None:
    with pytest.raises(KalshiConfigError):
        check_amend_arguments("o1", AmendOrderV2Request(TICKER, BookSide.BID, "0.5600", "10.00"), subaccount)
    command = cli.build_command()
    args = command.parser.parse_args(_args("o1", f"--subaccount={subaccount}"))
    with pytest.raises(cli._UsageError, match="--subaccount: must be between 0 and 63"):
        cli._build_request(command, args)


@pytest.mark.parametrize(
    ("env_change", "message"),
    [
        ({"KALSHI_API_KEY_ID": ""}, "key: KALSHI_API_KEY_ID is not set"),
        ({"KALSHI_PRIVATE_KEY_PATH": ""}, "key: set KALSHI_PRIVATE_KEY_PATH"),
        ({"KALSHI_PRIVATE_KEY_PATH": "/no/such.pem"}, "key: private key file not found: /no/such.pem"),
        ({"KALSHI_BASE_URL": ""}, "env/base-url: no exchange chosen"),
        ({"KALSHI_BASE_URL": "http://example.com/trade-api/v2"}, "base-url: plain http is refused"),
        ({"KALSHI_BASE_URL": "", "KALSHI_ENV": "staging"}, "env: unknown env 'staging'"),
    ],
)
def test_exit_2_bad_configuration(
    exchange: Exchange,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    env_change: dict[str, str],
    message: str,
    run_cli: RunCli,
) -> None:
    assert run_cli(_args(_order(exchange)), {**env, **env_change}) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert exchange.post_count() == 0


@pytest.mark.parametrize("order_id", [".", ".."])
def test_exit_2_for_an_order_id_that_would_change_the_path(
    exchange: Exchange,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    order_id: str,
    run_cli: RunCli,
) -> None:
    assert run_cli(_args(order_id), env) == 2
    assert "order_id must be the exchange's order id" in capsys.readouterr().err
    assert exchange.post_count() == 0


def test_encrypted_key_from_flags_and_password_from_env(
    exchange: Exchange,
    key_files: dict[str, KeyFiles],
    server: RunningServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    order_id = exchange.place_order("me", TICKER, "bid", "0.40", "10")
    args = _args(order_id, "--key-id", "me-rsa", "--private-key", str(key_files["rsa_encrypted"].path))
    args += ["--base-url", server.base_url, "--ca-file", str(server.ca_path)]
    assert main(args, {"KALSHI_PRIVATE_KEY_PASSWORD": PASSWORD.decode(), "KALSHI_ENV": "prod"}) == 0
    assert json.loads(capsys.readouterr().out)["order_id"] == order_id


def test_wrong_password_is_exit_2(
    exchange: Exchange,
    key_files: dict[str, KeyFiles],
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    run_cli: RunCli,
) -> None:
    env = {**env, "KALSHI_PRIVATE_KEY_PATH": str(key_files["rsa_encrypted"].path)}
    env["KALSHI_PRIVATE_KEY_PASSWORD"] = "nope"
    assert run_cli(_args(_order(exchange)), env) == 2
    assert "key: wrong password" in capsys.readouterr().err


@pytest.mark.parametrize("status", [500, 503])
def test_exit_3_outcome_unknown_names_the_order_and_sends_once(
    exchange: Exchange, env: dict[str, str], capsys: pytest.CaptureFixture[str], status: int, run_cli: RunCli
) -> None:
    order_id = _order(exchange)
    exchange.fail_next(status=status, applied=True)
    assert run_cli(_args(order_id, "--updated-client-order-id", "u-1"), env) == 3
    err = capsys.readouterr().err
    assert f"order {order_id} (updated client order id u-1)" in err
    assert "may have been applied; nothing was re-sent" in err
    assert f"HTTP {status}" in err
    assert exchange.post_count() == 1


def test_exit_3_on_timeout_after_sending(
    exchange: Exchange, env: dict[str, str], capsys: pytest.CaptureFixture[str], run_cli: RunCli
) -> None:
    order_id = _order(exchange)
    exchange.response_delay_s = 1.0
    assert run_cli([*_args(order_id), "--timeout", "0.2"], env) == 3
    assert "ReadTimeout" in capsys.readouterr().err
    # The exchange records the POST when its delayed answer starts: wait for that.
    deadline = time.monotonic() + 10
    while exchange.post_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # and a moment more, in case a second POST were coming
    assert exchange.post_count() == 1


def test_exit_4_when_nothing_listens(
    key_files: dict[str, KeyFiles], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**env, "KALSHI_BASE_URL": f"http://127.0.0.1:{port}/trade-api/v2"}
    assert main(_args("o1"), env) == 4
    assert "not sent, safe to run again" in capsys.readouterr().err


def test_verbose_shows_the_conversation_but_no_secret(
    exchange: Exchange,
    env: dict[str, str],
    key_files: dict[str, KeyFiles],
    capsys: pytest.CaptureFixture[str],
    run_cli: RunCli,
) -> None:
    order_id = _order(exchange)
    assert run_cli([*_args(order_id), "-v"], env) == 0
    err = capsys.readouterr().err
    assert f"> POST {env['KALSHI_BASE_URL']}/portfolio/events/orders/{order_id}/amend" in err
    assert "< HTTP 200 in " in err
    assert '"order_id"' in err
    (signature,) = exchange.signatures_seen("me")
    assert signature not in err
    for line in key_files["ed25519"].pem.decode().splitlines():
        assert line not in err


def test_the_installed_command_runs_without_traceback(
    env: dict[str, str], exchange: Exchange, server: RunningServer
) -> None:
    order_id = _order(exchange)
    script = Path(sys.executable).with_name("kalshi-amend")
    done = subprocess.run(
        [str(script), *_args(order_id, price="2")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert (
        done.stderr
        == "kalshi-amend: error: --price: price must be between 0 and 1 dollar (exclusive), got 2\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "kalshi_amend", *_args(order_id, "--ca-file", str(server.ca_path))],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["order_id"] == order_id


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "--ca-file: no such file"), (b"not a certificate\n", "--ca-file: not a readable PEM file")],
)
def test_exit_2_for_a_ca_file_that_cannot_be_used(
    exchange: Exchange,
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes | None,
    message: str,
) -> None:
    ca_file = tmp_path / "ca.pem"
    if content is not None:
        ca_file.write_bytes(content)
    assert main([*_args(_order(exchange)), "--ca-file", str(ca_file)], env) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert exchange.post_count() == 0


def test_exit_4_for_an_untrusted_certificate_and_nothing_sent(
    exchange: Exchange, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Without --ca-file the local exchange's throwaway CA is not trusted: the handshake
    # fails before the request leaves.
    assert main(_args(_order(exchange)), env) == 4
    err = capsys.readouterr().err
    assert "certificate verify failed" in err
    assert "--ca-file" in err  # the hint names the flag a shell user has
    assert exchange.post_count() == 0
