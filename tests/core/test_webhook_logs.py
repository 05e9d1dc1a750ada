"""The webhook token in /hooks/<account>/<token>/ is a secret: it appears in no log
line, whichever logger writes it (django.request, django.server, gunicorn's access
log) and whether the path is in the message or in an argument (the request)."""

from __future__ import annotations

import io
import logging

import pytest
import requests
from django.test import Client, RequestFactory

from cobrowse_portal.vendorkit.redaction import MASK, redact

from .conftest import make_account
from .test_webhooks import event, hook_url, post

LOGGERS = ("", "django", "django.request", "django.server", "gunicorn.access")


class Collect(logging.Handler):
    """Every record, formatted with its traceback, with no redacting filter."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs(caplog):
    """All log output: records at DEBUG on every logger (caplog's handler and one
    of ours on loggers that do not propagate) and what the console handlers write."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.server")
    collect, streams, saved = Collect(), [], []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(collect)
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler is not collect:
                buf = io.StringIO()
                streams.append((handler, handler.setStream(buf), buf))

    def text() -> str:
        return "\n".join(
            [
                *collect.lines,
                caplog.text,
                *(r.getMessage() for r in caplog.records),
                *(buf.getvalue() for _, _, buf in streams),
            ]
        )

    yield text
    for name in LOGGERS:
        logging.getLogger(name).removeHandler(collect)
    for logger, level in saved:
        logger.setLevel(level)
    for handler, old, _ in streams:
        handler.setStream(old)


@pytest.fixture
def accounts(reseller, other_workspace):
    return make_account(reseller, "Hooked"), make_account(other_workspace, "Other")


def test_token_is_in_no_log_line_through_the_test_client(accounts, logs):
    account, other = accounts
    client = Client()
    assert post(client, hook_url(account), event(1)).status_code == 202
    assert post(client, hook_url(account), b"{not json").status_code == 400
    # Wrong token: another account's real token, and a guess.
    assert post(client, hook_url(account, other.webhook_token), event(2)).status_code
    assert post(client, hook_url(account, "g" * 43), event(3)).status_code == 404
    # Without the trailing slash, and with a non-numeric account id (no route).
    assert post(client, hook_url(account).rstrip("/"), event(4)).status_code in (
        301,
        404,
    )
    bad = f"/hooks/nope/{account.webhook_token}/"
    assert post(client, bad, event(5)).status_code == 404
    assert client.get(hook_url(account)).status_code == 405
    text = logs()
    assert "Bad Request" in text and "Not Found" in text  # the lines were written
    for secret in (account.webhook_token, other.webhook_token, "g" * 43):
        assert secret not in text
    assert MASK in text


@pytest.mark.django_db(transaction=True)
def test_token_is_in_no_log_line_through_a_live_server(accounts, logs, live_server):
    account, other = accounts
    url = live_server.url + hook_url(account)
    assert requests.post(url, json=event(1), timeout=10).status_code == 202
    assert requests.post(url, data=b"[1, 2]", timeout=10).status_code == 400
    wrong = live_server.url + hook_url(account, other.webhook_token)
    assert requests.post(wrong, json=event(2), timeout=10).status_code == 404
    text = logs()
    assert "Bad Request" in text and "Not Found" in text
    assert account.webhook_token not in text and other.webhook_token not in text


def test_request_objects_and_server_lines_are_masked(accounts, logs):
    """Records whose args hold the request or the request line (django.server's
    and gunicorn's access-log shapes), and exception text."""
    account, _ = accounts
    token = account.webhook_token
    request = RequestFactory().post(hook_url(account))
    logging.getLogger("django.request").warning("Odd: %s", request)
    logging.getLogger("django.server").info(
        '"%s" %s %s', f"POST {hook_url(account)} HTTP/1.1", "404", "27"
    )
    logging.getLogger("gunicorn.access").info(
        '%(h)s "%(r)s" %(s)s',
        {"h": "127.0.0.1", "r": f"POST {hook_url(account)}", "s": "404"},
    )
    try:
        raise ValueError(f"cannot read http://portal.test{hook_url(account)}?x=1")
    except ValueError:
        logging.getLogger("cobrowse.test").exception("failed")
    text = logs()
    assert token not in text
    assert text.count(MASK) >= 4
    assert f"/hooks/{account.pk}/{MASK}/" in text  # the rest of the path is kept


def test_redact_masks_only_the_secret_segment():
    assert redact("POST /hooks/12/abc-DEF_123 HTTP/1.1") == (
        f"POST /hooks/12/{MASK} HTTP/1.1"
    )
    assert redact("<WSGIRequest: POST '/hooks/1/tok3n/'>") == (
        f"<WSGIRequest: POST '/hooks/1/{MASK}/'>"
    )
    assert redact("/v/surfly/hooks/") == "/v/surfly/hooks/"  # not the route


def test_masked_in_a_process_that_never_loads_the_urlconf():
    """A Celery worker or a management command logs before (or without) any URL
    resolution: the route is registered when the vendorkit app is ready."""
    import os
    import subprocess
    import sys

    token = "wOrKeR-tOkEn-0123456789-abcdefghijklmn"
    code = (
        "import django, logging, sys; django.setup(); "
        "assert 'cobrowse_portal.urls' not in sys.modules; "
        f"logging.getLogger('cobrowse.worker').warning('POST http://h/hooks/3/{token}/')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"/hooks/3/{MASK}/" in out.stderr + out.stdout
    assert token not in out.stderr + out.stdout
