"""Only explicit http(s) URLs from vendor data become links.

Vendor payloads and webhooks are not trusted: a `javascript:` (or `data:`,
`vbscript:`, ...) value put into an `href` or a copy button runs in the portal's
origin when clicked or pasted, and only the CSP stands in the way. Every vendor's
parsing layer passes link fields through `safe_url`, and templates render vendor
URLs with `{% vendor_link %}` / `|safe_href` (core's `portal` tag library), so a
value that is not an absolute http(s) URL is stored as "" and shown as text.

Browsers strip leading/trailing control characters and spaces from an `href` and
drop tabs and newlines anywhere in it (`java\tscript:` is `javascript:`); the
scheme is case-insensitive. So: surrounding ASCII whitespace is trimmed, any
other whitespace or control character anywhere rejects the value, the scheme must
be literally `http` or `https` (any case) followed by `://` and a host, and a
backslash (which browsers read as `/`) rejects it too. Protocol-relative
(`//host/path`) and relative values are not URLs here.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

SCHEMES = frozenset({"http", "https"})
_TRIM = " \t\n\r\f\v"


def safe_url(value: Any) -> str:
    """`value` if it is an absolute http(s) URL (surrounding whitespace trimmed),
    else ""."""
    if not isinstance(value, str):
        return ""
    url = value.strip(_TRIM)
    if not url or "\\" in url:
        return ""
    # Control (Cc, Cf, ...) and separator (Zs, Zl, Zp) characters anywhere: no URL.
    if any(unicodedata.category(ch)[0] in "CZ" for ch in url):
        return ""
    scheme, sep, rest = url.partition(":")
    if not sep or scheme.lower() not in SCHEMES or not rest.startswith("//"):
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return ""
    if not host:
        return ""
    return url
