"""The embedded e-mail backend (one .eml file per message in EMAIL_FILE_PATH,
the Outbox's folder) and reading those files back with the `email` package."""

from __future__ import annotations

import email
import email.policy
import hashlib
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import make_msgid, parsedate_to_datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.filebased import EmailBackend as DjangoFileBackend
from django.utils.module_loading import import_string


def outbox_dir() -> Path:
    return Path(settings.EMAIL_FILE_PATH)


def writes_outbox_files() -> bool:
    """Whether the configured backend is the embedded one (files the Outbox opens)."""
    try:
        backend = import_string(settings.EMAIL_BACKEND)
    except ImportError:
        return False
    return isinstance(backend, type) and issubclass(backend, OutboxFileBackend)


def backend_description() -> str:
    backend = settings.EMAIL_BACKEND
    if writes_outbox_files():
        return f"files in {outbox_dir()}"
    if backend.endswith("smtp.EmailBackend"):
        security = (
            " (STARTTLS)"
            if settings.EMAIL_USE_TLS
            else " (TLS)"
            if settings.EMAIL_USE_SSL
            else ""
        )
        return f"SMTP via {settings.EMAIL_HOST}:{settings.EMAIL_PORT}{security}"
    return backend.rsplit(".", 2)[-2] if "." in backend else backend


def new_message_id() -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "localhost"
    return make_msgid(domain=domain)


def file_name_for(message_id: str, when: datetime) -> str:
    digest = hashlib.sha256(message_id.encode()).hexdigest()[:16]
    return f"{when.astimezone(UTC):%Y%m%dT%H%M%S}-{digest}.eml"


class OutboxFileBackend(BaseEmailBackend):
    """Writes each message to its own `<time>-<hash>.eml` in EMAIL_FILE_PATH and
    notes the file's name on the message (`outbox_file_name`)."""

    _lock = threading.Lock()

    def __init__(self, file_path=None, fail_silently=False, **kwargs):
        super().__init__(fail_silently=fail_silently)
        self.file_path = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages) -> int:
        sent = 0
        self.file_path.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            if not message.recipients():
                continue
            message_id = message.extra_headers.setdefault(
                "Message-ID", new_message_id()
            )
            name = file_name_for(message_id, datetime.now(UTC))
            data = message.message().as_bytes(linesep="\n")
            target = self.file_path / name
            tmp = target.with_suffix(".tmp")
            try:
                with self._lock:
                    tmp.write_bytes(data)
                    os.replace(tmp, target)
            except OSError:
                if not self.fail_silently:
                    raise
                continue
            message.outbox_file_name = name
            sent += 1
        return sent


# Django's own file backend is a file backend too (EMAIL_URL=filemail://...).
FILE_BACKENDS = (OutboxFileBackend, DjangoFileBackend)


@dataclass
class ParsedMessage:
    file_name: str
    date: datetime | None = None
    from_: str = ""
    to: str = ""
    subject: str = ""
    message_id: str = ""
    html: str = ""
    text: str = ""
    attachments: list[dict] = field(default_factory=list)


def outbox_path(file_name: str) -> Path | None:
    """The file of that name in the Outbox folder, or None (no path tricks)."""
    if not file_name or os.path.basename(file_name) != file_name:
        return None
    path = outbox_dir() / file_name
    return path if path.is_file() else None


def parse_file(file_name: str) -> ParsedMessage | None:
    path = outbox_path(file_name)
    if path is None:
        return None
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    return parse_bytes(raw, file_name)


def parse_bytes(raw: bytes, file_name: str = "") -> ParsedMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = ParsedMessage(file_name=file_name)
    out.from_ = str(msg.get("From", ""))
    out.to = str(msg.get("To", ""))
    out.subject = str(msg.get("Subject", ""))
    out.message_id = str(msg.get("Message-ID", ""))
    try:
        out.date = parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError):
        out.date = None
    for kind in ("html", "plain"):
        part = msg.get_body(preferencelist=(kind,))
        if part is not None:
            content = part.get_content()
            if kind == "html":
                out.html = content
            else:
                out.text = content
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        out.attachments.append(
            {
                "name": part.get_filename() or "(unnamed)",
                "type": part.get_content_type(),
                "size": len(payload),
            }
        )
    return out
