"""kalshi-amend's amend flags come from the generated model and operation, not from a list."""

from __future__ import annotations

import inspect
import json
import re
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from kalshi_trade_api.api.orders import amend_order_v2
from kalshi_trade_api.models import AmendOrderV2Request
from kalshi_trade_api.types import UNSET, Unset

from kalshi_amend import cli, options_table
from kalshi_amend.model_flags import docstring_section
from tests.support.keys import KeyFiles
from tests.support.verifying_server import SignatureCheckingServer

TICKER = "KXTEST-26NOV25"
REQUIRED_ARGS = ["o1", "--ticker", TICKER, "--side", "bid", "--price", "0.56", "--count", "10"]


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _optional_fields(model: type) -> set[str]:
    return {field.name for field in attrs.fields(model) if field.init and field.default is not attrs.NOTHING}


def _query_parameters() -> set[str]:
    parameters = inspect.signature(amend_order_v2.sync_detailed).parameters.values()
    return {p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name not in ("client", "body")}


def _normalised(text: str) -> str:
    return " ".join(text.split())


def test_the_flags_are_the_models_optional_fields_and_the_query_parameters() -> None:
    command = cli.build_command()
    optional_body = {flag.option for flag in command.body_flags if not flag.required}
    assert optional_body == {_option(name) for name in _optional_fields(AmendOrderV2Request)}
    assert {flag.option for flag in command.query_flags} == {_option(name) for name in _query_parameters()}
    required = {flag.name for flag in command.body_flags if flag.required}
    assert required == {
        field.name for field in attrs.fields(AmendOrderV2Request) if field.default is attrs.NOTHING
    }


def test_each_optional_flag_has_the_specs_description_as_help(capsys: pytest.CaptureFixture[str]) -> None:
    command = cli.build_command()
    docstring = _normalised(AmendOrderV2Request.__doc__ or "")
    with pytest.raises(SystemExit):
        command.parser.parse_args(["--help"])
    help_text = _normalised(capsys.readouterr().out)
    for flag in command.body_flags:
        if flag.required:
            continue
        assert flag.description, flag.name
        assert flag.description in docstring  # taken whole from the generated docstring
        assert flag.description in help_text


def test_types_become_argparse_types(capsys: pytest.CaptureFixture[str]) -> None:
    command = cli.build_command()
    args = command.parser.parse_args([*REQUIRED_ARGS, "--exchange-index", "-1", "--expiration-time", "0"])
    assert getattr(args, "body.exchange_index") == -1
    assert getattr(args, "body.expiration_time") == 0
    with pytest.raises(cli._UsageError, match="argument --exchange-index: invalid int value"):
        command.parser.parse_args([*REQUIRED_ARGS, "--exchange-index", "x"])
    with pytest.raises(cli._UsageError, match="invalid choice"):
        command.parser.parse_args([*REQUIRED_ARGS[:4], "yes", *REQUIRED_ARGS[5:]])


def test_every_refinement_names_a_field_or_parameter_that_exists() -> None:
    # A refinement for a field the spec renamed would silently do nothing.
    known = {field.name for field in attrs.fields(AmendOrderV2Request)} | _query_parameters()
    assert set(cli.REFINEMENTS) <= known


@attrs.define
class _WithAddedBoolean(AmendOrderV2Request):
    """What `make generate` would give for an added boolean field (a subclass, for brevity).

    The name is one no spec will have, so this holds after check-regen adds its own field.

    Attributes:
        cli_probe_only (bool | Unset): If true, the amend must not take liquidity; a
            crossing price is refused instead of filled.
    """

    cli_probe_only: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        if not isinstance(self.cli_probe_only, Unset):
            body["cli_probe_only"] = self.cli_probe_only
        return body


@pytest.mark.parametrize(
    ("flag", "sent"), [("--cli-probe-only", True), ("--no-cli-probe-only", False), (None, None)]
)
def test_a_field_added_to_the_model_is_a_flag_that_reaches_the_body(
    monkeypatch: pytest.MonkeyPatch,
    key_files: dict[str, KeyFiles],
    capsys: pytest.CaptureFixture[str],
    flag: str | None,
    sent: bool | None,
) -> None:
    monkeypatch.setattr(cli, "REQUEST_MODEL", _WithAddedBoolean)
    command = cli.build_command()
    (added,) = [
        f for f in command.body_flags if f.name not in {a.name for a in attrs.fields(AmendOrderV2Request)}
    ]
    assert added.option == "--cli-probe-only"
    assert (
        added.description
        == "If true, the amend must not take liquidity; a crossing price is refused instead of filled."
    )

    state = SignatureCheckingServer({"me": key_files["ed25519"].public_pem})
    with state.running():
        env = {
            "KALSHI_API_KEY_ID": "me",
            "KALSHI_PRIVATE_KEY_PATH": str(key_files["ed25519"].path),
            "KALSHI_BASE_URL": state.base_url,
        }
        argv = [*REQUIRED_ARGS, *([flag] if flag else [])]
        assert cli.main(argv, env) == 0, capsys.readouterr().err
    (received,) = state.received
    body = json.loads(received.body)
    assert body.get("cli_probe_only") == sent
    assert ("cli_probe_only" in body) == (sent is not None)


def test_the_added_flag_is_in_help_with_its_negation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "REQUEST_MODEL", _WithAddedBoolean)
    with pytest.raises(SystemExit):
        cli.build_command().parser.parse_args(["--help"])
    out = _normalised(capsys.readouterr().out)
    assert "--cli-probe-only, --no-cli-probe-only If true, the amend must not take liquidity" in out


@attrs.define
class _WithClashingName(AmendOrderV2Request):
    """
    Attributes:
        timeout (int | Unset): A field named like one of the command's own options.
    """

    timeout: int | Unset = UNSET


def test_a_field_named_like_a_command_option_gets_a_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "REQUEST_MODEL", _WithClashingName)
    command = cli.build_command()
    args = command.parser.parse_args([*REQUIRED_ARGS, "--body-timeout", "7", "--timeout", "3"])
    assert getattr(args, "body.timeout") == 7
    assert args.timeout == "3"


def test_docstring_sections_are_read_with_continuations_and_stop_at_the_next_section() -> None:
    doc = """Summary line.

    Attributes:
        a (str): First line
            and its continuation.
        b (int | Unset):
        c (list[str] | Unset): Has (parentheses) and a colon: here.

    Raises:
        d (str): not an attribute
    """
    assert docstring_section(doc, "Attributes") == {
        "a": "First line and its continuation.",
        "c": "Has (parentheses) and a colon: here.",
    }
    assert docstring_section(doc, "Args") == {}
    assert docstring_section(None, "Attributes") == {}


def test_a_percent_sign_in_a_description_does_not_break_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    @attrs.define
    class WithPercent(AmendOrderV2Request):
        """
        Attributes:
            max_fee_pct (int | Unset): At most this % of the notional, e.g. 5%.
        """

        max_fee_pct: int | Unset = UNSET

    monkeypatch.setattr(cli, "REQUEST_MODEL", WithPercent)
    with pytest.raises(SystemExit):
        cli.build_command().parser.parse_args(["--help"])
    assert re.search(r"At most this % of the notional, e.g. 5%\.", _normalised(capsys.readouterr().out))


if TYPE_CHECKING:  # as the generated models import the models they nest
    from kalshi_trade_api.models import AmendOrderV2Response


@attrs.define
class _WithNestedModel(AmendOrderV2Request):
    """
    Attributes:
        note (AmendOrderV2Response | Unset): A nested object, written as JSON on the command line.
    """

    note: AmendOrderV2Response | Unset = UNSET


def test_a_nested_model_field_takes_json_and_becomes_the_model(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from kalshi_trade_api.models import AmendOrderV2Response

    monkeypatch.setattr(cli, "REQUEST_MODEL", _WithNestedModel)
    command = cli.build_command()
    args = command.parser.parse_args([*REQUIRED_ARGS, "--note", '{"order_id": "x", "ts_ms": 1}'])
    body, _query = cli._build_request(command, args)
    assert isinstance(body, _WithNestedModel)
    assert isinstance(body.note, AmendOrderV2Response)
    # Not JSON, or JSON the model cannot take: exit 2 naming the flag, no traceback.
    assert cli.main([*REQUIRED_ARGS, "--note", "{"], env) == 2
    assert "argument --note: not valid JSON" in capsys.readouterr().err
    assert cli.main([*REQUIRED_ARGS, "--note", '{"order_id": "x"}'], env) == 2
    err = capsys.readouterr().err
    assert err.startswith("kalshi-amend: error: --note: not a valid value: KeyError")
    assert err.count("\n") == 1


def test_the_readme_options_table_is_made_from_the_same_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "REQUEST_MODEL", _WithAddedBoolean)
    table = options_table.markdown()
    for name in [field.name for field in attrs.fields(_WithAddedBoolean) if field.init] + sorted(
        _query_parameters()
    ):
        assert f"`{name}`" in table
    assert (
        "| `--cli-probe-only` / `--no-cli-probe-only` |  | If true, the amend must not take liquidity;"
        in table
    )
