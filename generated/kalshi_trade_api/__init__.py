"""A client library for accessing Kalshi Trade API - Amend Order (V2) and Get Order"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
