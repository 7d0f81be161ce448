"""The httpx clients make_client builds.

Lean clients: httpx's own, minus per-request work Kalshi's API never needs.

The generated code hands httpx a relative URL and a query dict (empty unless a
subaccount is given) on every call. httpx then parses the merged URL again, and once
more to merge even an empty query: about 40 us an amend when a generated function is
called directly (auth_hooks.call takes the direct route and skips this), spent
re-deriving the same URL for the same order. These subclasses remember the absolute
URL httpx built for a (path, query) they have seen, and hand it back, so httpx takes
its fast path for an already absolute URL; the first request of a path goes through
httpx unchanged.

They also keep no cookies from responses. Kalshi authenticates every request by its
signature; the Set-Cookie headers its CDN may add are of no use to an API client (the
official SDK keeps none either), and reading them costs httpx ~20 us a response.
Cookies set on the client are still sent.

Only public httpx API is overridden: ``build_request`` and the ``cookies`` property.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

# Distinct (path, query) pairs remembered; a bot amending many orders recycles them.
URL_CACHE_SIZE = 1024

_CacheKey = str | tuple[str, tuple[tuple[str, Any], ...]]


def cache_key(url: object, params: object) -> _CacheKey | None:
    """A key for a relative URL and a flat query dict of str/int values; None if uncacheable."""
    if not isinstance(url, str):
        return None
    if not params:
        return url
    if isinstance(params, dict) and all(
        isinstance(value, str | int) and not isinstance(value, bool) for value in params.values()
    ):
        return url, tuple(sorted(params.items()))
    return None


class _UrlCache:
    __slots__ = ("_urls",)

    def __init__(self) -> None:
        self._urls: dict[_CacheKey, httpx.URL] = {}

    def build(
        self,
        build: Callable[..., httpx.Request],
        method: str,
        url: httpx.URL | str,
        kwargs: dict[str, Any],
        client_params: httpx.QueryParams,
    ) -> httpx.Request:
        """``build(method, url, **kwargs)`` with the absolute URL of a (path, query) seen before."""
        # httpx replaces (not merges) a URL's query with the client's default params: a
        # cached URL's own query would be lost, so a client with params builds every URL.
        key = None if client_params else cache_key(url, kwargs.get("params"))
        if key is None:
            return build(method, url, **kwargs)
        cached = self._urls.get(key)
        if cached is not None:
            return build(method, cached, **{**kwargs, "params": None})
        request = build(method, url, **kwargs)
        if len(self._urls) >= URL_CACHE_SIZE:
            self._urls.clear()  # rare; cheaper and simpler than LRU bookkeeping
        self._urls[key] = request.url
        return request


class _ResponseCookiesIgnored(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class LeanClient(httpx.Client):
    """``httpx.Client`` that builds each distinct request URL once and keeps no response cookies."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._url_cache = _UrlCache()
        self.cookies = kwargs.get("cookies")

    @property
    def cookies(self) -> httpx.Cookies:
        return self._request_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._request_cookies = _ResponseCookiesIgnored(cookies)

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        return self._url_cache.build(super().build_request, method, url, kwargs, self.params)


class LeanAsyncClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` that builds each distinct request URL once and keeps no response cookies."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._url_cache = _UrlCache()
        self.cookies = kwargs.get("cookies")

    @property
    def cookies(self) -> httpx.Cookies:
        return self._request_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._request_cookies = _ResponseCookiesIgnored(cookies)

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        return self._url_cache.build(super().build_request, method, url, kwargs, self.params)
