"""Property-based tests: the text to sign, and Kalshi's fixed-point numbers.

Each property is checked against a construction written here from kalshi-facts.md,
not against the code under test. Example counts stay modest: the whole file runs in
a few seconds.
"""

from __future__ import annotations

import string
import time
from decimal import Decimal
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from kalshi_trade_api.api.orders import amend_order_v2
from kalshi_trade_api.types import UNSET

from auth_hooks import KalshiAuth, KalshiConfigError, SigningKey, make_client
from auth_hooks.fixed_point import format_count, format_price, parse_fixed_point
from auth_hooks.signing import path_to_sign, sign_text, signature_headers, text_to_sign
from tests.support.verifying_server import SignatureCheckingServer

from .helpers import body

_ED_KEY = ed25519.Ed25519PrivateKey.generate()
_CHECKER = SignatureCheckingServer(
    {"kid": _ED_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)}
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = "https://external-api.kalshi.com"
PREFIX = "/trade-api/v2"

# -- the text to sign ------------------------------------------------------------------

HEX = "0123456789abcdefABCDEF"
# What may stand unescaped in a path segment (RFC 3986 pchar), and escapes in either case.
PCHAR = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"
escape = st.builds(lambda a, b: f"%{a}{b}", st.sampled_from(HEX), st.sampled_from(HEX))
segment = (
    st.lists(st.one_of(st.sampled_from(PCHAR), escape), min_size=1, max_size=8)
    .map("".join)
    .filter(lambda s: s not in (".", ".."))  # dot segments are resolved by any URL parser
)
path = st.lists(segment, min_size=1, max_size=6).map(lambda segs: PREFIX + "/" + "/".join(segs))
query = st.text(alphabet=PCHAR + "/?%", max_size=30)
token_method = st.text(alphabet=string.ascii_letters, min_size=1, max_size=10)


@PROPERTY
@given(path=path, query=st.none() | query)
@example(path=PREFIX + "/portfolio/events/orders/ab%2Fc/amend", query="subaccount=3")
@example(path=PREFIX + "/a/%7e/%7E", query="x=%2F?y")
def test_path_to_sign_is_the_wire_path_without_the_query(path: str, query: str | None) -> None:
    url = httpx.URL(BASE + path + ("" if query is None else "?" + query))
    signed = path_to_sign(url)
    assert signed == path  # percent-encoding kept exactly, query gone
    assert "?" not in signed


@PROPERTY
@given(timestamp=st.integers(0, 10**13), method=token_method, path=path)
def test_text_to_sign_is_timestamp_method_path(timestamp: int, method: str, path: str) -> None:
    expected = str(timestamp).encode("ascii") + method.encode("ascii").upper() + path.encode("ascii")
    assert text_to_sign(timestamp, method, path) == expected
    assert text_to_sign(str(timestamp), method, path) == expected


@PROPERTY
@given(
    order_id=st.text(min_size=1, max_size=40).filter(lambda s: s not in (".", "..")),
    sub=st.none() | st.integers(0, 63),
)
def test_the_generated_request_signs_its_own_path(order_id: str, sub: int | None) -> None:
    # The request exactly as the generated code builds it, through make_client's httpx client.
    client = make_client(KalshiAuth("kid", _ED_KEY), base_url=BASE + PREFIX)
    kwargs = amend_order_v2._get_kwargs(order_id, body=body(), subaccount=UNSET if sub is None else sub)
    request = client.get_httpx_client().build_request(**kwargs)
    expected = f"{PREFIX}/portfolio/events/orders/{quote(order_id, safe='')}/amend"
    assert path_to_sign(request.url) == expected
    assert request.url.raw_path.decode("ascii").split("?")[0] == expected
    client.close()


@PROPERTY
@given(method=token_method, path=path, query=st.none() | query)
def test_signed_headers_verify_at_an_independent_checker(method: str, path: str, query: str | None) -> None:
    url = httpx.URL(BASE + path + ("" if query is None else "?" + query))
    timestamp = int(time.time() * 1000)
    signature = sign_text(SigningKey(_ED_KEY), text_to_sign(timestamp, method.upper(), path_to_sign(url)))
    headers = signature_headers("kid", timestamp, signature)
    target = url.raw_path.decode("ascii")
    assert _CHECKER.check(method.upper(), target, {k.lower(): v for k, v in headers.items()}) == "ok"


# -- fixed point ---------------------------------------------------------------------

ten_thousandths = st.integers(1, 9999)  # prices: 0.0001 .. 0.9999
hundredths = st.integers(1, 10**14)  # counts: 0.01 .. 10^12


def price_forms(n: int) -> list[str | Decimal]:
    """Ways a caller may write the price n/10000: Decimal forms and 2-4 place strings."""
    value = Decimal(n).scaleb(-4)
    forms: list[str | Decimal] = [value, value.normalize(), Decimal(f"{n}E-4"), f"0.{n:04d}"]
    if n % 100 == 0:
        forms.append(f"0.{n // 100:02d}")
    if n % 10 == 0:
        forms.append(f"0.{n // 10:03d}")
    return forms


@PROPERTY
@given(n=ten_thousandths)
def test_format_price_is_exact_with_four_places(n: int) -> None:
    expected = f"0.{n:04d}"
    for form in price_forms(n):
        text = format_price(form)
        assert text == expected
        assert "e" not in text.lower()
        assert parse_fixed_point(text) == Decimal(n).scaleb(-4)


@PROPERTY
@given(n=hundredths)
def test_format_count_is_exact_with_two_places_and_never_an_exponent(n: int) -> None:
    expected = f"{n // 100}.{n % 100:02d}"
    value = Decimal(n).scaleb(-2)
    forms: list[str | Decimal | int] = [value, value.normalize(), Decimal(f"{n}E-2"), expected]
    if n % 100 == 0:
        forms += [n // 100, str(n // 100), Decimal(n // 100).normalize()]  # normalize: 1E+3 style
    for form in forms:
        text = format_count(form)
        assert text == expected, form
        assert "e" not in text.lower()
        assert parse_fixed_point(text) == value


@PROPERTY
@given(
    n=ten_thousandths, m=hundredths, zeros=st.integers(0, 4), digit=st.integers(1, 9), as_text=st.booleans()
)
def test_a_nonzero_digit_beyond_the_allowed_places_is_refused(
    n: int, m: int, zeros: int, digit: int, as_text: bool
) -> None:
    price = f"0.{n:04d}{'0' * zeros}{digit}"  # a 5th-or-later decimal place
    count = f"{m // 100}.{m % 100:02d}{'0' * zeros}{digit}"  # a 3rd-or-later decimal place
    with pytest.raises(KalshiConfigError, match="decimal places"):
        format_price(price if as_text else Decimal(price))
    with pytest.raises(KalshiConfigError, match="decimal places"):
        format_count(count if as_text else Decimal(count))
    # Trailing zeros beyond the places are harmless: the value is the same.
    assert format_price(f"0.{n:04d}{'0' * zeros}") == f"0.{n:04d}"


NOT_PLAIN = [
    "NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "1e1", "1E+1", "5E-1", "0.5e0", "+0.5", "-0.5",
    "0x1", "1_0", "0,5", "", " ", "0.5.0", "½", "\u0660.\u0665",  # Arabic-Indic digits: Decimal would take them
]  # fmt: skip


@pytest.mark.parametrize("text", NOT_PLAIN)
def test_fixed_point_refuses_anything_but_plain_decimals(text: str) -> None:
    with pytest.raises(KalshiConfigError):
        format_price(text)
    with pytest.raises(KalshiConfigError):
        format_count(text)


@PROPERTY
@given(x=st.floats(allow_nan=True, allow_infinity=True) | st.booleans())
def test_floats_and_bools_are_refused(x: float) -> None:
    with pytest.raises(KalshiConfigError):
        format_price(x)  # type: ignore[arg-type]
    with pytest.raises(KalshiConfigError):
        format_count(x)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")]
)
def test_non_finite_decimals_are_refused(value: Decimal) -> None:
    with pytest.raises(KalshiConfigError):
        format_price(value)
    with pytest.raises(KalshiConfigError):
        format_count(value)


canonical = st.from_regex(r"-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,6})?", fullmatch=True)


@PROPERTY
@given(text=canonical)
def test_parse_fixed_point_round_trips_exactly(text: str) -> None:
    value = parse_fixed_point(text)
    assert isinstance(value, Decimal)
    assert str(value) == text  # same digits, same places: never through a float


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        "1e1",
        "1E+1",
        "5E-1",
        "+0.5",
        "1_0",
        "0,5",
        "",
        "1.",
        ".5",
        " 1",
        "1 ",
        "--1",
        "1.-5",
        "0x10",
        "\u0663",  # ARABIC-INDIC DIGIT THREE
    ],
)
def test_parse_fixed_point_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="fixed-point"):
        parse_fixed_point(text)


def test_a_huge_count_with_too_many_places_is_a_config_error() -> None:
    with pytest.raises(KalshiConfigError):
        format_count("12345678901234567890123456789.123")
