"""`python -m local_exchange --seed seed.yaml [--host 127.0.0.1] [--port N]`

Prints the base URL (…/trade-api/v2) on the first line of stdout, then serves until
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from .app import API_PREFIX
from .seed import SeedError, load_seed
from .server import bind_loopback, make_server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local_exchange",
        description="A local, Kalshi-like exchange for Amend Order (V2), on loopback only.",
    )
    parser.add_argument("--seed", required=True, help="seed file (YAML or JSON)")
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

    try:
        exchange = load_seed(args.seed)
        sock = bind_loopback(args.host, args.port)
    except (SeedError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.clock_offset is not None:
        exchange.clock_offset_s = args.clock_offset
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    print(f"http://{shown_host}:{port}{API_PREFIX}", flush=True)
    # In the main thread uvicorn handles SIGINT/SIGTERM itself: it shuts down cleanly,
    # then re-raises the signal, which for Ctrl-C arrives here as KeyboardInterrupt.
    with contextlib.suppress(KeyboardInterrupt):
        make_server(exchange, access_log=args.access_log).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
