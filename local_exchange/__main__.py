"""`python -m local_exchange [--seed seed.yaml] [--tls] [--host 127.0.0.1] [--port N]`

Prints the base URL (…/trade-api/v2) on the first line of stdout and, with --tls, the
path of the CA certificate to trust on the second; then serves until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from .app import API_PREFIX
from .exchange import Exchange
from .seed import EXAMPLE_SEED_PATH, SeedError, load_seed
from .server import IDLE_TIMEOUT_S, bind_loopback, make_server
from .tls import make_server_tls

EPILOG = f"""\
output: the first line of stdout is the base URL (http(s)://HOST:PORT/trade-api/v2); with
--tls the second line is the path of the throwaway CA certificate (PEM) a client must
trust, e.g. make_client(..., verify=ssl.create_default_context(cafile=PATH)).

seed file: YAML (or JSON) with the optional sections exchange, markets, accounts and
orders. A documented example with every field:
  {EXAMPLE_SEED_PATH}
Accounts that sign need a key_id and the public key; a counterparty needs only a name.
Quote prices and counts ("0.56"), and any text YAML would read as a boolean (yes, no,
on, off). Without --seed the exchange starts empty.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local_exchange",
        description="A local, Kalshi-like exchange for Amend Order (V2) and Get Order, on loopback only.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", help="seed file (YAML or JSON); see below. Default: an empty exchange")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA made now")
    parser.add_argument(
        "--ca-path",
        type=Path,
        default=None,
        metavar="FILE",
        help="with --tls: also write the CA certificate (PEM) to FILE, which is kept after exit",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    parser.add_argument(
        "--clock-offset",
        type=float,
        default=None,
        metavar="SECONDS",
        help="skew the exchange clock by this many seconds (overrides the seed file)",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if args.ca_path is not None and not args.tls:
        parser.error("--ca-path needs --tls")

    try:
        exchange = load_seed(args.seed) if args.seed is not None else Exchange()
        sock = bind_loopback(args.host, args.port)
    except (SeedError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.clock_offset is not None:
        exchange.clock_offset_s = args.clock_offset
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(sock.close)
        tls = None
        if args.tls:
            tls = make_server_tls()
            cleanup.callback(shutil.rmtree, tls.directory, ignore_errors=True)
        host, port = sock.getsockname()[:2]
        shown_host = f"[{host}]" if ":" in host else host
        lines = [f"{'https' if tls else 'http'}://{shown_host}:{port}{API_PREFIX}"]
        if tls is not None:
            ca_path = tls.ca_path
            if args.ca_path is not None:
                try:
                    shutil.copyfile(tls.ca_path, args.ca_path)
                except OSError as error:
                    print(f"error: cannot write {args.ca_path}: {error.strerror}", file=sys.stderr)
                    return 2
                ca_path = args.ca_path.resolve()
            lines.append(str(ca_path))
        # One write: a reader that saw the first line has the second too.
        print("\n".join(lines), flush=True)
        server = make_server(exchange, access_log=args.access_log, tls=tls, idle_timeout_s=IDLE_TIMEOUT_S)
        # In the main thread uvicorn handles SIGINT/SIGTERM itself: it shuts down cleanly,
        # then re-raises the signal, which for Ctrl-C arrives here as KeyboardInterrupt.
        # SIGTERM's default action would end the process there and then, leaving the TLS
        # keys behind: as SystemExit it unwinds through the clean-up instead.
        signal.signal(signal.SIGTERM, _exit_cleanly)
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    return 0


def _exit_cleanly(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
