"""Natives behind cru.http (lua/http.lua), reference §3.6, on one shared httpx.AsyncClient.

The Lua wrapper validates and coerces the arguments and hands `fetch` plain values; `fetch`
returns the whole response in one crossing, `(status, body, headers)` with the headers already a
Lua table, or `(0, error message)` for a failure, and the wrapper builds the response table.

The client is created on the first request (httpx costs ~60 ms to import, which kernel start-up
does not pay) and closed by `Runtime.aclose`. It behaves like the reference's `reqwest::Client`:
redirects followed up to 10, no cookie store, no User-Agent, `Accept: */*`, connections pooled
without a limit and kept alive for 90 s. The whole request (connect, send, headers, body) runs
under one deadline, as reqwest's `timeout` does; httpx's own per-operation timeouts are off.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from .convert import Multi

if TYPE_CHECKING:
    import httpx

    from .engine import Runtime

__all__ = ["install"]

MAX_REDIRECTS = 10
# Request methods by the exact spellings the reference matches (anything else is GET).
METHODS = {
    b"POST": "POST",
    b"post": "POST",
    b"PUT": "PUT",
    b"put": "PUT",
    b"PATCH": "PATCH",
    b"patch": "PATCH",
    b"DELETE": "DELETE",
    b"delete": "DELETE",
    b"HEAD": "HEAD",
    b"head": "HEAD",
    b"OPTIONS": "OPTIONS",
    b"options": "OPTIONS",
}
_CHARSET = re.compile(rb";\s*charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a header name (RFC 9110 token)
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # control characters other than tab
_UTF8 = frozenset({"utf-8", "utf8", "unicode-1-1-utf-8"})
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def new_client() -> httpx.AsyncClient:
    """An httpx client configured like the reference's `reqwest::Client::new()`."""
    import http.cookiejar

    import httpx

    class _NoCookies(http.cookiejar.CookieJar):
        """A cookie jar that keeps nothing: reqwest's default client has no cookie store."""

        def extract_cookies(self, response: Any, request: Any) -> None:
            pass

        def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
            pass

    client = httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=None,  # the caller's deadline covers the whole request
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=90.0),
        cookies=_NoCookies(),
    )
    # httpx sends User-Agent and Connection by default, reqwest neither; both send Accept: */*.
    del client.headers["User-Agent"]
    del client.headers["Connection"]
    return client


def body_text(content: bytes, content_type: bytes | None) -> bytes:
    """The body as reqwest's `text()` gives it, in UTF-8: BOM sniffed and removed, else the charset
    of Content-Type (default UTF-8), undecodable bytes replaced by U+FFFD."""
    if not content:
        return b""
    if content[0] in (0xEF, 0xFF, 0xFE):
        for bom, codec in _BOMS:
            if content.startswith(bom):
                return content[len(bom) :].decode(codec, "replace").encode()
    codec = "utf-8"
    if content_type is not None:
        found = _CHARSET.search(content_type)
        if found is not None:
            codec = found.group(1).decode("ascii", "replace").lower()
    if codec not in _UTF8:
        try:
            return content.decode(codec, "replace").encode()
        except LookupError:  # an unknown charset: UTF-8, as encoding_rs falls back
            pass
    try:
        content.decode()
    except UnicodeDecodeError:
        return content.decode("utf-8", "replace").encode()
    return content  # valid UTF-8 already: hand the same bytes on


def invalid_header(flat: tuple[bytes, ...]) -> str | None:
    """What is wrong with the first bad header of {name, value, ...}, as reqwest's builder checks."""
    for i in range(0, len(flat), 2):
        if not _TOKEN.fullmatch(flat[i]):
            return f"invalid HTTP header name {flat[i].decode('latin-1')!r}"
        if _BAD_VALUE.search(flat[i + 1]):
            return f"invalid HTTP header value for {flat[i].decode('latin-1')!r}"
    return None


def failure_message(exc: Exception, url: Any) -> str:
    """The error field for a request that failed before its body: reqwest's wording."""
    import httpx

    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return "Request timed out"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"HTTP request failed: error following redirect for url ({url}): {detail}"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return f"HTTP request failed: builder error: {detail}"
    return f"HTTP request failed: error sending request for url ({url}): {detail}"


def install(rt: Runtime) -> None:
    client: httpx.AsyncClient | None = None
    errors: tuple[type[BaseException], ...] = ()
    table_from = rt.lua.table_from

    def open_client() -> httpx.AsyncClient:
        nonlocal client, errors
        import httpx

        client = new_client()
        # What a request may raise besides the deadline: httpx's errors, and the OS and codec
        # errors that escape them for malformed input (a header value that is not Latin-1, ...).
        errors = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, ValueError, TypeError)
        rt.add_cleanup(close_client)
        return client

    async def close_client() -> None:
        nonlocal client
        if client is not None:
            done, client = client, None
            await done.aclose()

    async def fetch(
        method: bytes, url: bytes, body: bytes | None, timeout: float, query: Any, *headers: bytes
    ) -> Multi:
        """Sends one request: `(status, body, headers table)` or `(0, error message)`."""
        http_client = client or open_client()
        target = url.decode("utf-8", "replace")  # http.lua checked it
        if headers and (problem := invalid_header(headers)):
            return Multi(0, f"HTTP request failed: builder error: {problem}")
        if query is not None:
            target = with_query(target, query)
        try:
            request = http_client.build_request(
                METHODS.get(method, "GET"),
                target,
                content=body,
                headers=list(zip(headers[::2], headers[1::2], strict=True)) if headers else None,
            )
        except errors as exc:
            return Multi(0, f"HTTP request failed: builder error: {exc}")
        reading = False
        try:
            async with asyncio.timeout(timeout):
                response = await http_client.send(request, stream=True)
                reading = True
                try:
                    content = await response.aread()
                except BaseException:
                    await response.aclose()
                    raise
        except TimeoutError:
            return Multi(0, "Failed to read body: operation timed out" if reading else "Request timed out")
        except errors as exc:
            if reading:
                detail = str(exc) or type(exc).__name__
                return Multi(0, f"Failed to read body: error decoding response body: {detail}")
            return Multi(0, failure_message(exc, request.url))
        # Lower-case names, the last value of a repeated header, values that are not ASCII dropped
        # (reqwest's to_str() fails on them).
        names = {k.lower(): v for k, v in response.headers.raw if v.isascii()}
        return Multi(response.status_code, body_text(content, names.get(b"content-type")), table_from(names))

    rt.register(
        "http",
        rt.lua_module(
            "http",
            {
                "fetch": fetch,
                "json_encode": rt.cru[b"json"][b"encode"],
            },
        ),
        global_name="http",
    )


def with_query(url: str, query: Any) -> str:
    """`url` with the flat Lua array {name, value, name, value, ...} appended to its query."""
    from urllib.parse import urlencode

    flat = list(query.values())
    if not flat:
        return url
    encoded = urlencode(list(zip(flat[::2], flat[1::2], strict=True)))
    base, hash_, fragment = url.partition("#")
    separator = "" if base.endswith(("?", "&")) else "&" if "?" in base else "?"
    return f"{base}{separator}{encoded}{hash_}{fragment}"
