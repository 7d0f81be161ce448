"""A real HTTP/1.1 server on 127.0.0.1 that checks Kalshi signatures the way Kalshi does.

Written independently of auth_hooks (straight from kalshi-facts.md) so a bug shared
by signer and checker cannot hide. It records every request and answers with
whatever ``respond`` returns; its clock can be skewed to test clock correction.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes
    verdict: str  # "ok" or the 401 code given


def ok_reply(request: Received) -> Reply:
    """A 200 like the exchange's, echoing the order id from the path."""
    order_id = request.raw_path.split("?")[0].split("/")[-2]
    body = {
        "order_id": order_id,
        "ts_ms": int(time.time() * 1000),
        "remaining_count": "10.00",
        "fill_count": "0.00",
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


@dataclass
class SignatureCheckingServer:
    public_keys: dict[str, bytes]
    respond: Callable[[Received], Reply] = ok_reply
    window_ms: int = 10_000
    skew_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    signatures_seen: set[str] = field(default_factory=set)
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.time() + self.skew_s

    def check(self, method: str, raw_path: str, headers: dict[str, str]) -> str:
        """ "ok", or the 401 error code Kalshi would give."""
        key_id = headers.get("kalshi-access-key", "")
        timestamp = headers.get("kalshi-access-timestamp", "")
        signature = headers.get("kalshi-access-signature", "")
        public_pem = self.public_keys.get(key_id)
        if public_pem is None or not timestamp.isdigit() or not signature:
            return "authentication_error"
        if abs(int(timestamp) - self.now() * 1000) > self.window_ms:
            return "header_timestamp_expired"
        message = (timestamp + method + raw_path.split("?", 1)[0]).encode()
        public_key = serialization.load_pem_public_key(public_pem)
        try:
            raw = base64.b64decode(signature, validate=True)
            if isinstance(public_key, rsa.RSAPublicKey):
                public_key.verify(
                    raw,
                    message,
                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                    hashes.SHA256(),
                )
            elif isinstance(public_key, ed25519.Ed25519PublicKey):
                public_key.verify(raw, message)
            else:
                return "authentication_error"
        except (InvalidSignature, ValueError):
            return "INCORRECT_API_KEY_SIGNATURE"
        return "ok"

    @contextmanager
    def running(self) -> Iterator[SignatureCheckingServer]:
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}/trade-api/v2"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)


class _Server(ThreadingHTTPServer):
    # The stdlib's listen backlog of 5 drops connection attempts when a hundred
    # concurrent requests arrive at once; a real exchange does not.
    request_queue_size = 1024
    daemon_threads = True


def _handler_for(state: SignatureCheckingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real exchange

        def log_message(self, format: str, *args: object) -> None:
            return  # keep test output clean

        def do_POST(self) -> None:
            self._handle()

        def do_GET(self) -> None:
            self._handle()

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verdict = state.check(self.command, self.path, headers)
            request = Received(self.command, self.path, headers, body, verdict)
            with state._lock:
                state.received.append(request)
                if verdict == "ok":
                    signature = headers["kalshi-access-signature"]
                    assert signature not in state.signatures_seen, "a signature was used twice"
                    state.signatures_seen.add(signature)
            if verdict == "ok":
                status, reply_headers, reply = state.respond(request)
            else:
                status, reply_headers = 401, {"Content-Type": "application/json"}
                error = {"code": verdict, "message": "authentication failed"}
                if verdict == "INCORRECT_API_KEY_SIGNATURE":
                    error = {"code": "authentication_error", "message": "bad signature", "details": verdict}
                reply = json.dumps({"error": error}).encode()
            self.send_response(status)
            for name, value in reply_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def date_time_string(self, timestamp: float | None = None) -> str:
            # The Date header follows the (possibly skewed) server clock.
            return formatdate(state.now() if timestamp is None else timestamp, usegmt=True)

    return Handler
