"""Signature verification, exactly as Kalshi documents it (unit level)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from local_exchange.auth import load_public_key, signature_is_valid, signed_text

from .support import TestKey, sign

MESSAGE = signed_text("1795038400000", "post", b"/trade-api/v2/portfolio/events/orders/a%2Fb/amend")


def test_the_signed_text_is_timestamp_method_and_raw_path() -> None:
    assert MESSAGE == b"1795038400000POST/trade-api/v2/portfolio/events/orders/a%2Fb/amend"


def test_rsa_pss_with_a_32_byte_salt(alice_key: TestKey) -> None:
    public = load_public_key(alice_key.public_pem)
    assert signature_is_valid(public, MESSAGE, sign(alice_key.private_key, MESSAGE))


@pytest.mark.parametrize(
    "scheme",
    [
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=20),
        padding.PKCS1v15(),
    ],
    ids=["pss-max-salt", "pss-salt-20", "pkcs1v15"],
)
def test_other_rsa_paddings_are_refused(alice_key: TestKey, scheme: padding.AsymmetricPadding) -> None:
    private = alice_key.private_key
    assert isinstance(private, rsa.RSAPrivateKey)
    raw = private.sign(MESSAGE, scheme, hashes.SHA256())
    public = load_public_key(alice_key.public_pem)
    assert not signature_is_valid(public, MESSAGE, base64.b64encode(raw).decode())


def test_ed25519(bob_key: TestKey) -> None:
    public = load_public_key(bob_key.public_pem)
    assert signature_is_valid(public, MESSAGE, sign(bob_key.private_key, MESSAGE))
    assert not signature_is_valid(public, MESSAGE + b"?x=1", sign(bob_key.private_key, MESSAGE))


def test_only_standard_base64_is_accepted(bob_key: TestKey) -> None:
    public = load_public_key(bob_key.public_pem)
    # Find a message whose signature uses + or /, the characters URL-safe base64 replaces.
    for n in range(100):
        message = MESSAGE + str(n).encode()
        standard = sign(bob_key.private_key, message)
        if "+" in standard or "/" in standard:
            break
    url_safe = standard.replace("+", "-").replace("/", "_")
    assert signature_is_valid(public, message, standard)
    assert not signature_is_valid(public, message, url_safe)
    assert not signature_is_valid(public, message, "not base64!")


def test_private_keys_and_other_key_types_are_refused(bob_key: TestKey) -> None:
    private_pem = bob_key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="PUBLIC key"):
        load_public_key(private_pem)
    ec_public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="RSA or Ed25519"):
        load_public_key(ec_public)


def test_pkcs1_rsa_public_keys_load(alice_key: TestKey) -> None:
    pkcs1 = alice_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    assert b"BEGIN RSA PUBLIC KEY" in pkcs1
    load_public_key(pkcs1.decode())
