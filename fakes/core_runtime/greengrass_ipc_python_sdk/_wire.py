"""What urllib and http.client would refuse before a request reaches the daemon.

The real IPC client builds its requests with ``urllib.request``; these helpers raise the same
exceptions for the same inputs (URL with control characters, header values that are not text or
bytes or that hold bare line breaks, bodies that cannot be sent), so a Lambda that works against
the simulated core does not fail on a real one for a reason the fake let through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from http.client import InvalidURL

_URL_CONTROL_CHAR = re.compile("[\x00-\x20\x7f]")
_BARE_LINE_BREAK = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])")


def check_url_part(part: str) -> None:
    """Refuse a host or path holding control characters or spaces (``http.client.InvalidURL``)."""
    found = _URL_CONTROL_CHAR.search(part)
    if found:
        raise InvalidURL(
            f"URL can't contain control characters. {part!r} (found at least {found.group()!r})"
        )


def header_value(value: object) -> str:
    """The header value as the daemon would read it (Latin-1 text), or the error urllib raises."""
    if isinstance(value, str):
        raw = value.encode("latin-1")
    elif isinstance(value, int):
        raw = str(value).encode("ascii")
    else:
        try:
            raw = bytes(memoryview(value))  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(
                f"expected string or bytes-like object, got {type(value).__name__!r}"
            ) from None
    if _BARE_LINE_BREAK.search(raw):
        raise ValueError(f"Invalid header value {raw!r}")
    return raw.decode("latin-1")


def body_bytes(data: object) -> bytes:
    """The bytes urllib would send for a request body, or the error it raises."""
    if isinstance(data, str):
        raise TypeError(
            "POST data should be bytes, an iterable of bytes, or a file object. "
            "It cannot be of type str."
        )
    read = getattr(data, "read", None)
    if callable(read):
        content = read()
        return content.encode("iso-8859-1") if isinstance(content, str) else bytes(content)
    try:
        return bytes(memoryview(data))  # type: ignore[arg-type]
    except TypeError:
        pass
    if not isinstance(data, Iterable):
        raise TypeError(
            f"message_body should be a bytes-like object or an iterable, got {type(data)}"
        )
    chunks = []
    for chunk in data:
        try:
            chunks.append(bytes(memoryview(chunk)))
        except TypeError:
            raise TypeError(f"can't concat {type(chunk).__name__} to bytes") from None
    return b"".join(chunks)
