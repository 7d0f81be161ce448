"""The bench's exchange stand-in: a minimal keep-alive HTTP/1.1 server on 127.0.0.1.

It answers every POST at once with a canned 200 amend response (with the Date header real
servers send), so the bench measures the clients and not a matching engine. It runs in its own process (`python -m bench.server`) so
it does not share the client's GIL, and it costs a few microseconds per request: headers are
only searched, not parsed, except when a signature is checked.

Signatures are checked on the first request of every connection and then on one request in
SAMPLE_EVERY: enough to catch a client that signs wrongly or sends stale pre-made
signatures, too rare to slow the server. A bad one gets a 401, which fails that variant.

Usage: python -m bench.server --keys DIR [--port 0]. It prints the port on stdout once
listening and stops when its stdin closes (so it never outlives the bench) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from bench.common import COUNT, KEY_FILES, KEY_IDS, ORDER_ID, PRICE, REPO, TICKER

SAMPLE_EVERY = 256
MAX_CLOCK_SKEW_MS = 5_000  # Kalshi rejects timestamps some seconds off; stale pre-signing shows here

V2_BODY = json.dumps(
    {"order_id": ORDER_ID, "ts_ms": 1764028800123, "remaining_count": COUNT, "fill_count": "0.00"}
).encode()


def _v1_order(client_order_id: str) -> dict[str, Any]:
    # Every field the official SDK's pydantic Order model requires, as the V1 endpoint sends them.
    return {
        "order_id": ORDER_ID,
        "user_id": "bench-user",
        "client_order_id": client_order_id,
        "ticker": TICKER,
        "side": "yes",
        "action": "buy",
        "type": "limit",
        "status": "resting",
        "yes_price": 56,
        "no_price": 44,
        "yes_price_dollars": PRICE,
        "no_price_dollars": "0.4400",
        "fill_count": 0,
        "remaining_count": 10,
        "initial_count": 10,
        "taker_fees": 0,
        "maker_fees": 0,
        "taker_fill_cost": 0,
        "maker_fill_cost": 0,
        "taker_fill_cost_dollars": "0.0000",
        "maker_fill_cost_dollars": "0.0000",
        "queue_position": 0,
    }


# The older V1 path (what both peers call) answers with the two orders it really returns.
V1_BODY = json.dumps({"old_order": _v1_order("bench-c1"), "order": _v1_order("bench-c2")}).encode()


def _http(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


V2_RESPONSE = _http("200 OK", V2_BODY)
V1_RESPONSE = _http("200 OK", V1_BODY)
MISSING_HEADERS = _http("401 Unauthorized", b'{"error":{"code":"missing_parameters"}}')
BAD_SIGNATURE = _http("401 Unauthorized", b'{"error":{"code":"INCORRECT_API_KEY_SIGNATURE"}}')
NOT_POST = _http("405 Method Not Allowed", b'{"msg":"only POST"}')

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


class DateLine:
    """The Date header real servers send (Kalshi's included), re-formatted once a second.

    It matters to the clients: ours learns the exchange's clock offset from it.
    """

    def __init__(self) -> None:
        self.second = 0
        self.line = b""

    def add(self, response: bytes) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second, self.line = now, f"Date: {formatdate(now, usegmt=True)}\r\n".encode()
        cut = response.index(b"\r\n") + 2  # after the status line
        return response[:cut] + self.line + response[cut:]


class Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.verified = 0
        self.rejected = 0
        self.connections = 0
        self.last_rejection = ""


class Connection(asyncio.Protocol):
    def __init__(self, keys: dict[bytes, PublicKey], stats: Stats) -> None:
        self.keys = keys
        self.stats = stats
        self.buf = b""
        self.until_check = 0  # 0: check the next request's signature
        self.date = DateLine()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        out = []
        # Loop: a client may pipeline, or one read may hold a request and a half.
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            # The header may be the last one: then its value runs to the end of `head`.
            stop = lower.find(b"\r\n", at + 2) if at >= 0 else -1
            length = int(lower[at + 17 : stop if stop >= 0 else end]) if at >= 0 else 0
            total = end + 4 + length
            if len(buf) < total:
                break
            out.append(self.date.add(self.answer(head, lower)))
            buf = buf[total:]
        self.buf = buf
        if out and self.transport is not None:
            self.transport.write(b"".join(out))

    def answer(self, head: bytes, lower: bytes) -> bytes:
        request_line = head[: head.find(b"\r\n")]
        if request_line.startswith(b"GET /__stats"):
            return _http("200 OK", json.dumps(vars(self.stats)).encode())
        if not request_line.startswith(b"POST "):
            return NOT_POST
        self.stats.requests += 1
        if b"\r\nkalshi-access-signature:" not in lower:
            return self.reject("no KALSHI-ACCESS-SIGNATURE header", MISSING_HEADERS)
        if self.until_check == 0:
            problem = check_signature(head, self.keys)
            if problem:
                return self.reject(problem, BAD_SIGNATURE)
            self.stats.verified += 1
            self.until_check = SAMPLE_EVERY
        self.until_check -= 1
        return V1_RESPONSE if b"/portfolio/orders/" in request_line else V2_RESPONSE

    def reject(self, why: str, response: bytes) -> bytes:
        self.stats.rejected += 1
        self.stats.last_rejection = why
        return response


def check_signature(head: bytes, keys: dict[bytes, PublicKey]) -> str:
    """Return what is wrong with the request's signature, or "" when it is right and fresh."""
    lines = head.split(b"\r\n")
    method, target, _ = lines[0].split(b" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    try:
        key = keys[headers[b"kalshi-access-key"]]
        stamp = headers[b"kalshi-access-timestamp"]
        signature = base64.b64decode(headers[b"kalshi-access-signature"], validate=True)
    except (KeyError, ValueError) as exc:
        return f"bad or missing auth header: {exc!r}"
    skew = abs(time.time() * 1000 - int(stamp))
    if skew > MAX_CLOCK_SKEW_MS:
        return f"timestamp {skew:.0f} ms off"
    message = stamp + method + target.split(b"?", 1)[0]
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            key.verify(signature, message, pss, hashes.SHA256())
        else:
            key.verify(signature, message)
    except InvalidSignature:
        return f"signature does not verify for {message!r}"
    return ""


def load_public_keys(keys_dir: Path) -> dict[bytes, PublicKey]:
    keys: dict[bytes, PublicKey] = {}
    for kind, filename in KEY_FILES.items():
        private = serialization.load_pem_private_key((keys_dir / filename).read_bytes(), None)
        public = private.public_key()
        assert isinstance(public, rsa.RSAPublicKey | ed25519.Ed25519PublicKey)
        keys[KEY_IDS[kind].encode()] = public
    return keys


async def serve(keys_dir: Path, port: int) -> None:
    loop = asyncio.get_running_loop()
    keys = load_public_keys(keys_dir)
    stats = Stats()
    server = await loop.create_server(
        lambda: Connection(keys, stats), "127.0.0.1", port, backlog=256, reuse_address=True
    )
    stop = loop.create_future()

    def on_stdin() -> None:
        if not os.read(sys.stdin.fileno(), 4096) and not stop.done():
            stop.set_result(None)

    # A file or /dev/null on stdin cannot be watched: then only SIGTERM stops us.
    with contextlib.suppress(PermissionError):
        loop.add_reader(sys.stdin.fileno(), on_stdin)

    def on_sigterm() -> None:
        if not stop.done():
            stop.set_result(None)

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await stop


def start(keys_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Spawn the server process; returns it and its port. Close its stdin to stop it."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.server", "--keys", str(keys_dir)],
        cwd=REPO,
        stdin=subprocess.PIPE,  # closing it stops the server
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None
    port = server.stdout.readline().strip()
    if not port:
        raise RuntimeError("the bench server did not start")
    return server, int(port)


def main() -> None:
    parser = argparse.ArgumentParser(description="Canned-response Kalshi amend server")
    parser.add_argument("--keys", type=Path, required=True, help="folder written by bench.keys")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    asyncio.run(serve(args.keys, args.port))


if __name__ == "__main__":
    main()
