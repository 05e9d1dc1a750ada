"""Webhook deliveries skip the page middleware (`core.hooks_middleware`), and every
guarantee of the intake still holds on that path: the token check, 404 for an
unknown account, 400s (recorded) for bodies that cannot be stored, text
normalisation, store-once. Every other URL keeps the whole stack: sessions, CSRF,
login, CSP, frame and cache headers."""

from __future__ import annotations

import json

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve, reverse

from cobrowse_portal.core.choices import EventStatus
from cobrowse_portal.core.models import WebhookEvent
from cobrowse_portal.vendorkit import webhooks

from .conftest import make_account
from .test_webhooks import event, hook_url, post

FAST = "cobrowse_portal.core.hooks_middleware.WebhookIntakeMiddleware"
SEEN: list[str] = []


class Tripwire:
    """Placed last in the stack: records every request that reached the page
    middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        SEEN.append(f"{request.method} {request.path_info}")
        return self.get_response(request)


@pytest.fixture
def seen(settings):
    settings.MIDDLEWARE = [*django_settings.MIDDLEWARE, f"{__name__}.Tripwire"]
    SEEN.clear()
    yield SEEN
    SEEN.clear()


@pytest.fixture
def account(reseller):
    return make_account(reseller, "Hooked desk")


@pytest.fixture
def hook_client():
    return Client(enforce_csrf_checks=True)  # vendors send no CSRF token


def stored():
    return list(WebhookEvent.objects.values_list("status", flat=True))


def test_the_fast_path_sits_right_after_the_security_middleware():
    stack = django_settings.MIDDLEWARE
    assert (
        stack.index(FAST)
        == stack.index("django.middleware.security.SecurityMiddleware") + 1
    )


def test_a_delivery_never_reaches_the_page_middleware(
    account, hook_client, seen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(hook_client, hook_url(account), event(1))
    assert response.status_code == 202 and response.json() == {"status": "accepted"}
    assert seen == []  # nothing below the fast path ran
    assert len(callbacks) == 1  # the drain is still requested
    assert stored() == [EventStatus.RECEIVED]
    # No session, user, CSRF or htmx work: no cookie, no Vary on them.
    assert not response.cookies
    assert "Vary" not in response
    # A JSON answer, never a page; SecurityMiddleware's headers still apply.
    assert response["Content-Type"] == "application/json"
    assert response["Content-Length"] == str(len(response.content))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    # The tripwire itself works: a page goes through it.
    hook_client.get(reverse("login"))
    assert seen == ["GET /login/"]


CASES = {
    "wrong-token": (lambda a: hook_url(a, "x" * 43), event(1), 404, []),
    "unknown-account": (
        lambda a: reverse("webhook_receive", args=[a.pk + 1000, a.webhook_token]),
        event(1),
        404,
        [],
    ),
    "huge-account-id": (
        lambda a: reverse("webhook_receive", args=[10**22, a.webhook_token]),
        event(1),
        404,
        [],
    ),
    "malformed": (hook_url, b"{not json", 400, [EventStatus.INVALID]),
    "too-long-pin": (
        hook_url,
        event(1, "session.queued", pin="1" * 30),
        400,
        [EventStatus.INVALID],
    ),
    "nul": (hook_url, event(1, session="a\u0000b"), 400, [EventStatus.INVALID]),
    "surrogate": (
        hook_url,
        b'{"sequence_id": 1, "type": "session.started", '
        b'"data": {"session_id": "s\\ud800"}}',
        202,
        [EventStatus.RECEIVED],
    ),
    "unknown-type": (
        hook_url,
        {"sequence_id": 1, "type": "agent.moved", "data": {}},
        200,
        [EventStatus.IGNORED],
    ),
}


@pytest.mark.parametrize(
    ("url", "body", "status", "statuses"), CASES.values(), ids=CASES
)
def test_every_answer_comes_from_the_fast_path(
    account, hook_client, seen, url, body, status, statuses
):
    response = post(hook_client, url(account), body)
    assert response.status_code == status
    assert sorted(stored()) == statuses
    assert seen == []


def test_oversized_body_through_the_fast_path(account, hook_client, seen, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    response = post(hook_client, hook_url(account), event(1, meta="x" * 200))
    assert response.status_code == 400 and response.json()["status"] == (
        "body too large"
    )
    assert stored() == [EventStatus.INVALID] and seen == []


def test_duplicate_through_the_fast_path(
    account, hook_client, seen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert post(hook_client, hook_url(account), event(7)).status_code == 202
        again = post(hook_client, hook_url(account), event(7))
    assert again.status_code == 200 and again.json()["status"] == "duplicate ignored"
    assert len(callbacks) == 1 and stored() == [EventStatus.RECEIVED] and seen == []


def test_the_view_gives_the_same_answers_without_the_fast_path(
    account, hook_client, settings
):
    """A stack without the middleware (or a URL it does not claim) still ends in
    the same checks: the view shares its code."""
    settings.MIDDLEWARE = [m for m in django_settings.MIDDLEWARE if m != FAST]
    assert post(hook_client, hook_url(account, "x" * 43), event(1)).status_code == 404
    assert post(hook_client, hook_url(account), b"[1]").status_code == 400
    response = post(hook_client, hook_url(account), event(1))
    assert response.status_code == 202 and response.json() == {"status": "accepted"}
    assert sorted(stored()) == [EventStatus.INVALID, EventStatus.RECEIVED]


def test_a_disallowed_host_is_refused_as_on_every_url(account, hook_client, seen):
    response = post(hook_client, hook_url(account), event(1), HTTP_HOST="evil.test")
    assert response.status_code == 400
    assert stored() == [] and seen == []


def test_https_redirect_still_applies(account, hook_client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = post(hook_client, hook_url(account), event(1))
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    assert stored() == []
    assert post(hook_client, hook_url(account), event(1), secure=True).status_code == (
        202
    )


# --- only the hook route is claimed; everything else keeps every protection --------
def test_other_methods_and_near_miss_paths_take_the_whole_stack(
    account, hook_client, seen
):
    url = hook_url(account)
    token = account.webhook_token
    assert hook_client.get(url).status_code == 405
    assert hook_client.put(url, b"{}").status_code == 405
    near_misses = [
        url.rstrip("/"),  # no trailing slash
        f"/hooks/x{account.pk}/{token}/",  # not a number
        f"/hooks/{account.pk}/{token}/more/",  # one segment too many
        f"/v/hooks/{account.pk}/{token}/",  # under another prefix
        f"/hooks//{token}/",
    ]
    for path in near_misses:
        assert post(hook_client, path, event(1)).status_code in (301, 403, 404)
    assert seen == [
        f"GET {url}",
        f"PUT {url}",
        *(f"POST {path}" for path in near_misses),
    ]
    assert stored() == []


@pytest.mark.parametrize(
    "path",
    [
        "/hooks/1/tok/",
        "/hooks/0012/t0k-EN_x/",
        "/hooks/1/tok",
        "/hooks/1/tok/x/",
        "/hooks/a/tok/",
        "/hooks/1//",
        "/hooks/-1/tok/",
        "/hooks/1/t%20k/",
        "/hooks/١/tok/",  # a non-ASCII digit: not the route's [0-9]
        "/xhooks/1/tok/",
        "/hooks/1/tok/\n",
    ],
)
def test_the_fast_path_claims_exactly_the_routes_urls(path):
    """The middleware's pattern is derived from the route: it matches a path if
    and only if the URL resolver sends it to the receiver, with the same
    arguments."""
    from cobrowse_portal.core.hooks_middleware import hook_path_pattern

    found = hook_path_pattern().match(path)
    try:
        match = resolve(path)
    except Resolver404:
        match = None
    routed = match is not None and match.url_name == "webhook_receive"
    assert (found is not None) == routed
    if routed:
        assert int(found["account_id"]) == match.kwargs["account_id"]
        assert found["token"] == match.kwargs["token"]


def test_pages_keep_sessions_csrf_login_and_headers(client, seen, admin_user):
    """The fast path changes nothing for pages: CSRF still refuses a form post
    without a token, pages still need a login and carry CSP, frame and Vary
    headers."""
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 403  # CSRF
    page = client.get(reverse("core:dashboard"))
    assert page.status_code == 302 and reverse("login") in page["Location"]
    login = client.get(reverse("login"))
    assert (
        "Content-Security-Policy" in login and "nonce-" not in login["X-Frame-Options"]
    )
    assert login["X-Frame-Options"] == "DENY"
    assert "HX-Request" in login["Vary"] and "Cookie" in login["Vary"]
    assert "csrftoken" in login.cookies
    assert seen == [
        "POST /login/",
        "GET /",
        "GET /login/",
    ]


# --- statements per delivery ----------------------------------------------------------
def test_a_delivery_costs_two_statements_once_the_account_was_seen(
    account, hook_client, django_capture_on_commit_callbacks
):
    """The first delivery for an account reads it; later ones only INSERT (the
    statement checks the account and token itself) and read the drain flag: on
    PostgreSQL both in one statement (`test_webhook_one_statement`), elsewhere
    one each. No savepoint, no transaction, no ORM query of the account."""
    queries = []
    for seq in (1, 2):
        with (
            CaptureQueriesContext(connection) as captured,
            django_capture_on_commit_callbacks(execute=True),
        ):
            response = post(hook_client, hook_url(account), event(seq))
            assert response.status_code == 202
        queries.append(captured.captured_queries)
    first, later = queries
    kinds = [q["sql"].split()[0] for q in first]
    assert kinds[0] == "SELECT" and "core_vendoraccount" in first[0]["sql"]
    later_sql = [q["sql"] for q in later]
    assert not any("SAVEPOINT" in q for q in later_sql)
    if connection.vendor == "postgresql":
        assert len(later_sql) == 1, later_sql
        assert later_sql[0].startswith(
            'WITH stored AS (INSERT INTO "core_webhookevent"'
        )
        assert "core_syncclaim" in later_sql[0]
        return
    assert len(later_sql) == 2, later_sql
    assert later_sql[0].startswith('INSERT INTO "core_webhookevent"')
    assert "core_syncclaim" in later_sql[1] and later_sql[1].startswith("SELECT")


def test_the_insert_names_every_column_of_the_event():
    statements = webhooks._statements(connection)
    fields = [f.column for f in WebhookEvent._meta.concrete_fields if not f.primary_key]
    columns = statements.insert.split("(", 1)[1].split(")", 1)[0]
    assert [c.strip().strip('"`') for c in columns.split(",")] == fields


# --- the remembered account is only a hint ------------------------------------------
def test_a_changed_token_counts_at_once(
    account, hook_client, django_capture_on_commit_callbacks
):
    old = account.webhook_token
    with django_capture_on_commit_callbacks(execute=False):
        assert post(hook_client, hook_url(account), event(1)).status_code == 202
        type(account).objects.filter(pk=account.pk).update(webhook_token="n" * 43)
        # The old token is refused at once, valid body or not; nothing stored.
        assert post(hook_client, hook_url(account, old), event(2)).status_code == 404
        assert post(hook_client, hook_url(account, old), b"{bad").status_code == 404
        assert post(hook_client, hook_url(account, "n" * 43), event(3)).status_code == (
            202
        )
        # And the old one again, now that the new one was seen.
        assert post(hook_client, hook_url(account, old), event(4)).status_code == 404
    assert sorted(WebhookEvent.objects.values_list("sequence", flat=True)) == [1, 3]


def test_a_deleted_account_counts_at_once(
    account, hook_client, django_capture_on_commit_callbacks
):
    url = hook_url(account)
    with django_capture_on_commit_callbacks(execute=False):
        assert post(hook_client, url, event(1)).status_code == 202
        account.delete()
        assert post(hook_client, url, event(2)).status_code == 404
        assert post(hook_client, url, b"[1]").status_code == 404
    assert not WebhookEvent.objects.exists()


def test_a_duplicate_is_told_apart_from_a_changed_token(
    account, hook_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        post(hook_client, hook_url(account), event(1))
        again = post(hook_client, hook_url(account), event(1))
    assert again.status_code == 200 and again.json()["status"] == "duplicate ignored"


# --- the body is decoded once, with orjson where it reads it faithfully ------------
def test_integers_beyond_64_bits_are_kept_exact(account, hook_client):
    big = 123456789012345678901234567890
    body = json.dumps(event(1) | {"data": {"session_id": "s", "meta": {"n": big}}})
    response = post(hook_client, hook_url(account), body.encode())
    assert response.status_code == 202
    assert WebhookEvent.objects.get().payload["data"]["meta"]["n"] == big


@pytest.mark.parametrize(
    "number", [b"NaN", b"Infinity", b"-Infinity", b"1e999"], ids=str
)
def test_numbers_no_database_can_store_are_400_and_recorded(
    account, hook_client, number
):
    """JSON has no NaN or infinity (Python's parser reads them, PostgreSQL's jsonb
    refuses them): refused at intake, not stored."""
    body = (
        b'{"sequence_id": 1, "type": "session.started", '
        b'"data": {"session_id": "s", "meta": {"x": ' + number + b"}}}"
    )
    response = post(hook_client, hook_url(account), body)
    assert response.status_code == 400
    assert WebhookEvent.objects.get().status == EventStatus.INVALID


def test_a_byte_order_mark_is_read_as_before(account, hook_client):
    body = b"\xef\xbb\xbf" + json.dumps(event(1)).encode()
    assert post(hook_client, hook_url(account), body).status_code == 202


def test_parse_json_agrees_with_the_standard_parser():
    for body in [
        b'{"a": [1, 2.5, -3, true, null, "x\\u00e9\\ud83d\\ude00"], "b": {}}',
        b'{"a": 18446744073709551615, "b": -9223372036854775808}',
        b'{"a": -9223372036854775809}',
        b'{"a": "1234567890123456789012"}',
        b'{"a": 1, "a": 2}',
    ]:
        assert webhooks.parse_json(body) == json.loads(body), body
