"""Keep vendor secrets out of every log line, exception and page.

Three nets: known secret values (registered whenever credentials are decrypted) are
replaced wherever they appear; well-known secret-bearing shapes (query parameters
such as `api_key=`, `Authorization` headers, JWTs) are masked even when the value was
never registered; and URL paths whose route marks a segment secret (`secret_path()`,
e.g. the webhook token in `/hooks/<id>/<secret:token>/`) have that segment masked.

Log records are scrubbed when they are created (a record factory installed by the
vendorkit app), so every handler sees the masked text: ours, pytest's, gunicorn's
access log in a worker; `RedactingFilter` on our handlers is the second net.
"""

from __future__ import annotations

import logging
import re
import threading

from django.urls import path, register_converter

MASK = "********"
_SECRET_PARAM = re.compile(
    r"(?i)\b((?:api[_-]?key|apikey|access[_-]?token|token|secret|password|passwd|"
    r"rest[_-]?key|client[_-]?secret|signature|sf-api-key|x-api-key)"
    r"[\"']?\s*[=:]\s*[\"']?)([^&\s\"',;}]+)"
)
_AUTH_HEADER = re.compile(r"(?i)\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")

_known: set[str] = set()
_lock = threading.Lock()
#: Paths whose route marks a secret segment (group `secret`), see `secret_path()`.
_secret_paths: list[re.Pattern] = []
_ROUTE_PART = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
# A path segment as it shows up in a log line: stops at quotes, spaces and `?`.
_SEGMENT = r"[^/\s?#\"'<>]+"


class SecretConverter:
    """A path segment that is a secret (any text up to the next slash)."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SecretConverter, "secret")


def secret_path_pattern(route: str) -> re.Pattern:
    """A regex finding `route` in text, its `<secret:…>` segment as group `secret`.

    Everything after the secret segment is left out, so a request without the
    trailing slash (a 404 that Django logs) is matched as well.
    """
    out, pos = [], 0
    for m in _ROUTE_PART.finditer(route):
        out.append(re.escape(route[pos : m.start()]))
        if m.group("conv") == "secret":
            return re.compile(
                "/" + "".join(out).lstrip("/") + f"(?P<secret>{_SEGMENT})"
            )
        out.append(_SEGMENT)
        pos = m.end()
    raise ValueError(f"route {route!r} has no <secret:…> segment")


def register_secret_path(route: str) -> None:
    pattern = secret_path_pattern(route)
    with _lock:
        if pattern.pattern not in {p.pattern for p in _secret_paths}:
            _secret_paths.append(pattern)


def secret_path(route: str, view, **kwargs):
    """`django.urls.path()` for a route with a `<secret:…>` segment: the segment is
    masked in every log line, exception text and page that goes through `redact`."""
    register_secret_path(route)
    return path(route, view, **kwargs)


def register_secret(value: str | None) -> None:
    """Remember a secret so it is masked wherever it shows up later."""
    if value and len(value) >= 6:
        with _lock:
            _known.add(value)


def redact(text: object) -> str:
    """Return `text` with every known secret and secret-looking value masked."""
    s = str(text)
    if not s:
        return s
    for secret in sorted(_known, key=len, reverse=True):
        if secret in s:
            s = s.replace(secret, MASK)
    for pattern in _secret_paths:
        s = pattern.sub(_mask_secret_group, s)
    s = _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, s)
    s = _AUTH_HEADER.sub(lambda m: m.group(1) + " " + MASK, s)
    return _JWT.sub(MASK, s)


def _mask_secret_group(m: re.Match) -> str:
    start, end = m.span("secret")
    text = m.group(0)
    base = m.start()
    return text[: start - base] + MASK + text[end - base :]


_formatter = logging.Formatter()


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask secrets in a record's message (args merged in), traceback and stack.

    Args are formatted first and dropped, so a request object or a path passed as
    an argument is masked like the rest of the line.
    """
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not hide the record
        message = str(record.msg)
    record.msg = redact(message)
    record.args = ()
    if record.exc_info and not record.exc_text:
        record.exc_text = _formatter.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """Logging filter (on every handler) that masks secrets in message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


_base_factory = None


def install_record_factory() -> None:
    """Scrub every log record as it is created, whichever handler gets it."""
    global _base_factory
    if _base_factory is not None:
        return
    _base_factory = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = _base_factory(*args, **kwargs)
        try:
            return scrub_record(record)
        except Exception:  # logging must never fail because of us
            return record

    logging.setLogRecordFactory(factory)
