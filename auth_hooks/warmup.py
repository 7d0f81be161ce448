"""Opening the connection ahead of the first amend, with a read that changes nothing.

The first request on a client pays for the TCP and TLS handshakes (on a real network,
several round trips). :func:`warm_up` / :func:`warm_up_async` open the pool's
connection beforehand with one Get Order of an order no one has: a read, which costs no
write tokens, answered 404 (taken as success). Anything else that read raises is raised
(NotSent, ReadFailed, AuthenticationFailed for a key the exchange does not know...), so
a warm-up doubles as a check of the configuration. Servers close idle connections, and
the client's pool drops one idle for longer than ``keepalive_expiry`` (5 s by default)
or found closed, so the next request would pay the handshakes again: warm up again
within that time of the last request, before the amend you expect.

This lives apart from :mod:`auth_hooks.client` because it uses an operation (Get Order):
the client and its transports know none.
"""

from __future__ import annotations

import contextlib

from kalshi_trade_api.api.orders import get_order
from kalshi_trade_api.client import AuthenticatedClient

from .call import call_detailed, call_detailed_async
from .errors import OrderNotFound

# A well-formed order id no order has (the nil UUID): its read is a 404 on any exchange
# that checks ids, not a 400 for a malformed one.
WARM_UP_ORDER_ID = "00000000-0000-0000-0000-000000000000"


def warm_up(client: AuthenticatedClient) -> None:
    """Opens the sync pool's connection (TCP, TLS) ahead of the first amend."""
    with contextlib.suppress(OrderNotFound):
        call_detailed(get_order.sync_detailed, WARM_UP_ORDER_ID, client=client)


async def warm_up_async(client: AuthenticatedClient) -> None:
    """The async twin of :func:`warm_up`, for the async pool (on the running loop)."""
    with contextlib.suppress(OrderNotFound):
        await call_detailed_async(get_order.asyncio_detailed, WARM_UP_ORDER_ID, client=client)
