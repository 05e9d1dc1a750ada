"""Keep vendor secrets out of every log line, exception and page.

Two nets: known secret values (registered whenever credentials are decrypted) are
replaced wherever they appear, and well-known secret-bearing shapes (query
parameters such as `api_key=`, `Authorization` headers, JWTs) are masked even when
the value was never registered.
"""

from __future__ import annotations

import logging
import re
import threading

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
    s = _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, s)
    s = _AUTH_HEADER.sub(lambda m: m.group(1) + " " + MASK, s)
    return _JWT.sub(MASK, s)


class RedactingFilter(logging.Filter):
    """Logging filter (on every handler) that masks secrets in message and traceback."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
