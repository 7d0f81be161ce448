"""The bench's exchange stand-in (own process): canned 200 amends over HTTP/1.1 keep-alive.

Three listeners on 127.0.0.1, one event loop:
- plain http and TLS (the certificate of bench.keys' throwaway CA): every POST gets the
  same 200 Amend Order V2 body at once, every GET a 404 (warm-ups read a missing order) (with the Date header real servers send), so the
  bench measures the clients, not a matching engine. Headers are only searched, not
  parsed, except when a signature is checked: on the first request of every connection,
  then one in SAMPLE_EVERY. A bad or stale signature gets a 401, which fails that client.
- a latency proxy in front of the TLS listener, standing in for a real network and edge:
  every chunk is forwarded half a round trip late in each direction, a new connection's
  first bytes leave a further round trip late (the TCP handshake's cost, which a
  user-space proxy cannot delay itself), and a connection idle for --idle-close seconds
  is closed, as an edge does. TLS runs end to end through it.

Usage: python -m bench.server --keys DIR [--rtt-ms 20] [--idle-close 5]. It prints its
ports as JSON on stdout once listening and stops when its stdin closes (so it never
outlives the bench) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Awaitable
from email.utils import formatdate
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from bench.common import COUNT, KEY_FILES, KEY_IDS, ORDER_ID, REPO, SERVER_CERT_FILE

SAMPLE_EVERY = 256
MAX_CLOCK_SKEW_MS = 5_000  # Kalshi rejects timestamps some seconds off; stale pre-signing shows here

V2_BODY = json.dumps(
    {"order_id": ORDER_ID, "ts_ms": 1764028800123, "remaining_count": COUNT, "fill_count": "0.00"}
).encode()


def _http(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


V2_RESPONSE = _http("200 OK", V2_BODY)
MISSING_HEADERS = _http("401 Unauthorized", b'{"error":{"code":"missing_parameters"}}')
BAD_SIGNATURE = _http("401 Unauthorized", b'{"error":{"code":"INCORRECT_API_KEY_SIGNATURE"}}')
# Reads (a client's warm-up reads an order that does not exist) get Kalshi's 404.
NOT_FOUND = _http("404 Not Found", b'{"error":{"code":"not_found","message":"not found"}}')

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
        self.proxy_chunks = 0
        self.proxy_late_s = 0.0  # the proxy's timers fire late (epoll waits in whole ms)
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
        return V2_RESPONSE if request_line.startswith(b"POST ") else NOT_FOUND

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


class LatencyProxy:
    def __init__(self, upstream_port: int, rtt_s: float, idle_close_s: float, stats: Stats) -> None:
        self.upstream_port, self.rtt_s, self.idle_close_s = upstream_port, rtt_s, idle_close_s
        self.stats = stats

    def forward(self, writer: asyncio.StreamWriter, data: bytes, due: float) -> None:
        self.stats.proxy_chunks += 1
        self.stats.proxy_late_s += asyncio.get_running_loop().time() - due
        if not writer.is_closing():
            writer.write(data)

    async def __call__(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        accepted = loop.time()
        last_seen = [accepted]
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, not_before: float) -> None:
            due = 0.0
            with contextlib.suppress(OSError):
                while data := await reader.read(65536):
                    last_seen[0] = now = loop.time()
                    # Strictly increasing times: the loop runs equal times in no set order.
                    due = max(now + self.rtt_s / 2, not_before, due + 1e-6)
                    loop.call_at(due, self.forward, writer, data, due)
            loop.call_at(max(due, loop.time() + self.rtt_s / 2) + 1e-6, writer.close)

        pumps = {
            asyncio.ensure_future(pump(client_r, up_w, accepted + 1.5 * self.rtt_s)),
            asyncio.ensure_future(pump(up_r, client_w, 0.0)),
        }
        while pumps:
            _, pumps = await asyncio.wait(pumps, timeout=0.25)
            if pumps and loop.time() - last_seen[0] >= self.idle_close_s:
                client_w.close()  # the edge drops an idle connection; the client sees EOF
                up_w.close()
                for task in pumps:
                    task.cancel()
                break


async def serve(keys_dir: Path, rtt_s: float, idle_close_s: float) -> None:
    loop = asyncio.get_running_loop()
    keys = load_public_keys(keys_dir)
    stats = Stats()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(keys_dir / SERVER_CERT_FILE)

    def listen(context: ssl.SSLContext | None) -> Awaitable[asyncio.Server]:
        return loop.create_server(
            lambda: Connection(keys, stats), "127.0.0.1", 0, backlog=256, reuse_address=True, ssl=context
        )

    plain, secure = await listen(None), await listen(tls)
    tls_port = secure.sockets[0].getsockname()[1]
    proxy = await asyncio.start_server(LatencyProxy(tls_port, rtt_s, idle_close_s, stats), "127.0.0.1", 0)
    stop = loop.create_future()

    def on_stop() -> None:
        if not stop.done():
            stop.set_result(None)

    def on_stdin() -> None:
        if not os.read(sys.stdin.fileno(), 4096):
            on_stop()

    # A file or /dev/null on stdin cannot be watched: then only SIGTERM stops us.
    with contextlib.suppress(PermissionError):
        loop.add_reader(sys.stdin.fileno(), on_stdin)
    loop.add_signal_handler(signal.SIGTERM, on_stop)
    ports = {"http": plain.sockets[0].getsockname()[1], "tls": tls_port}
    ports["proxy"] = proxy.sockets[0].getsockname()[1]
    print(json.dumps(ports), flush=True)
    async with plain, secure, proxy:
        await stop


def start(
    keys_dir: Path, rtt_ms: float = 20, idle_close_s: float = 5
) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    """Spawn the server process; returns it and its ports. Close its stdin to stop it."""
    argv = [sys.executable, "-m", "bench.server", "--keys", str(keys_dir), "--rtt-ms", str(rtt_ms)]
    server = subprocess.Popen(
        [*argv, "--idle-close", str(idle_close_s)],
        cwd=REPO,
        stdin=subprocess.PIPE,  # closing it stops the server
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None
    line = server.stdout.readline().strip()
    if not line:
        raise RuntimeError("the bench server did not start")
    ports: dict[str, int] = json.loads(line)
    return server, ports


def stop(server: subprocess.Popen[bytes]) -> None:
    assert server.stdin is not None
    server.stdin.close()
    server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description="Canned-response Kalshi amend server")
    parser.add_argument("--keys", type=Path, required=True, help="folder written by bench.keys")
    parser.add_argument("--rtt-ms", type=float, default=20, help="the latency proxy's round trip")
    parser.add_argument("--idle-close", type=float, default=5, help="the proxy closes idle connections (s)")
    args = parser.parse_args()
    asyncio.run(serve(args.keys, args.rtt_ms / 1000, args.idle_close))


if __name__ == "__main__":
    main()
