"""Login throttling (django-axes): repeated wrong passwords lock a username out at
that address, a password spray locks the address, both on the portal's login page
and the Django admin's, with a clear message and 429; nobody is locked out from
other addresses; the lockout ends after the cool-off; a success clears failures."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import PASSWORD, make_user

LOGIN = "/login/"
ADMIN_LOGIN = "/admin/login/"
LOCKED = "Too many failed log-in attempts"
# Publicly routable (ipware passes over documentation and private ranges).
HERE, ELSEWHERE, PROXY = "81.2.69.142", "81.2.69.160", "81.2.69.200"


@pytest.fixture
def user(reseller):
    from cobrowse_portal.core.choices import Role

    return make_user("ada", reseller, Role.ADMIN)


def post_login(client, username, password, url=LOGIN, address=HERE):
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=address
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username, times, url=LOGIN, address=HERE):
    for _ in range(times):
        post_login(client, username, "wrong-password", url, address)


def test_login_url_is_the_one_under_test():
    assert reverse("login") == LOGIN
    assert reverse("admin:login") == ADMIN_LOGIN


def test_wrong_passwords_then_the_right_one_is_refused_with_the_message(client, user):
    fail(client, "ada", settings.AXES_FAILURE_LIMIT + 3)
    response = post_login(client, "ada", PASSWORD)
    assert response.status_code == 429
    assert not logged_in(client)
    html = response.content.decode()
    # The portal's own login page, with the form and the message, not axes' page.
    assert "<h1>Cobrowse Portal</h1>" in html
    assert 'name="password"' in html
    assert LOCKED in html and "15 minutes" in html
    assert 'value="ada"' in html  # the username stays in the form


def test_the_lockout_starts_exactly_at_the_limit(client, user):
    fail(client, "ada", settings.AXES_FAILURE_LIMIT - 1)
    assert post_login(client, "ada", PASSWORD).status_code == 302
    assert logged_in(client)


def test_django_admin_login_is_throttled_too(client, superuser):
    fail(client, "root", settings.AXES_FAILURE_LIMIT, url=ADMIN_LOGIN)
    response = post_login(client, "root", PASSWORD, url=ADMIN_LOGIN)
    assert response.status_code == 429
    assert not logged_in(client)
    html = response.content.decode()
    assert "Django administration" in html  # the admin's own login template
    assert 'name="password"' in html
    assert LOCKED in html
    # ... and the portal login is locked for that username at that address too.
    assert post_login(client, "root", PASSWORD).status_code == 429


def test_the_failures_count_across_both_login_pages(client, superuser):
    fail(client, "root", settings.AXES_FAILURE_LIMIT - 1, url=ADMIN_LOGIN)
    fail(client, "root", 1, url=LOGIN)
    assert post_login(client, "root", PASSWORD, url=ADMIN_LOGIN).status_code == 429


def test_other_users_at_the_same_address_still_log_in(client, user, reseller):
    """Policy: a single-account brute force locks that username at that address."""
    make_user("bob")
    fail(client, "ada", settings.AXES_FAILURE_LIMIT + 1)
    assert post_login(client, "bob", PASSWORD).status_code == 302
    assert logged_in(client)


def test_the_same_user_elsewhere_still_logs_in(client, user):
    """Nobody can lock a user out from everywhere by typing their username."""
    fail(client, "ada", settings.AXES_FAILURE_LIMIT + 5, address=ELSEWHERE)
    assert post_login(client, "ada", PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_password_spray_locks_the_address(client, user):
    """Few tries per username, many usernames: the address total locks it out, for
    every username, while other addresses are unaffected."""
    per_user = settings.AXES_FAILURE_LIMIT - 1
    sprayed = 0
    n = 0
    while sprayed < settings.AXES_ADDRESS_FAILURE_LIMIT:
        fail(client, f"victim{n}", per_user)
        sprayed += per_user
        n += 1
    response = post_login(client, "ada", PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert not logged_in(client)
    assert post_login(client, "ada", PASSWORD, address=ELSEWHERE).status_code == 302


@override_settings(AXES_COOLOFF_TIME=timedelta(seconds=1))
def test_the_lockout_ends_after_the_cool_off(client, user):
    fail(client, "ada", settings.AXES_FAILURE_LIMIT)
    assert post_login(client, "ada", PASSWORD).status_code == 429
    time.sleep(1.2)
    assert post_login(client, "ada", PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_successful_login_clears_the_failures(client, user):
    fail(client, "ada", settings.AXES_FAILURE_LIMIT - 1)
    assert post_login(client, "ada", PASSWORD).status_code == 302
    client.logout()
    fail(client, "ada", settings.AXES_FAILURE_LIMIT - 1)
    assert post_login(client, "ada", PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_success_does_not_clear_the_address_total(client, user):
    """An attacker cannot reset the spray counter by logging in to an own account."""
    make_user("mallory")
    per_user = settings.AXES_FAILURE_LIMIT - 1
    for n in range(settings.AXES_ADDRESS_FAILURE_LIMIT // per_user + 1):
        fail(client, f"victim{n}", per_user)
        post_login(client, "mallory", PASSWORD)
        client.logout()
    assert post_login(client, "ada", PASSWORD).status_code == 429


def test_test_client_login_and_force_login_work_with_axes_on(client, user):
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.AXES_ENABLED
    assert client.login(username="ada", password=PASSWORD)
    client.logout()
    assert not client.login(username="ada", password="wrong-password")
    client.force_login(user)
    assert client.get(reverse("core:dashboard")).status_code == 200


def test_axes_adds_no_queries_to_an_authenticated_page(client, user):
    """The axes middleware only reads a request flag: a dashboard view runs the same
    queries with and without it, none of them on axes' tables."""
    client.force_login(user)
    url = reverse("core:dashboard")
    client.get(url)  # warm up (content types, sessions)
    with CaptureQueriesContext(connection) as with_axes:
        assert client.get(url).status_code == 200
    without = [m for m in settings.MIDDLEWARE if not m.startswith("axes.")]
    backends = [b for b in settings.AUTHENTICATION_BACKENDS if "axes" not in b]
    with (
        override_settings(MIDDLEWARE=without, AUTHENTICATION_BACKENDS=backends),
        CaptureQueriesContext(connection) as without_axes,
    ):
        assert client.get(url).status_code == 200
    assert len(with_axes) == len(without_axes), (len(with_axes), len(without_axes))
    assert not [q for q in with_axes.captured_queries if "axes_" in q["sql"]]


# --- client address ------------------------------------------------------------------
def _address(**meta):
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(RequestFactory().get("/", **meta))


def test_client_address_defaults_to_remote_addr():
    assert settings.AXES_IPWARE_META_PRECEDENCE_ORDER == ["REMOTE_ADDR"]
    # A forged header is ignored without proxy settings.
    assert _address(REMOTE_ADDR=HERE, HTTP_X_FORWARDED_FOR="6.6.6.6") == HERE


@override_settings(
    AXES_IPWARE_META_PRECEDENCE_ORDER=["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"],
    AXES_IPWARE_PROXY_COUNT=0,
)
def test_behind_one_proxy_the_documented_settings_take_the_appended_address():
    # The proxy appended the real client; the client itself wrote "6.6.6.6".
    assert (
        _address(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {HERE}")
        == HERE
    )


@override_settings(
    AXES_IPWARE_META_PRECEDENCE_ORDER=["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"],
    AXES_IPWARE_PROXY_COUNT=1,
)
def test_behind_two_proxies_the_count_skips_the_first_proxy():
    # CDN -> nginx -> portal: the CDN appended the client, nginx appended the CDN.
    assert (
        _address(
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"6.6.6.6, {HERE}, {PROXY}",
        )
        == HERE
    )


def test_settings_come_from_the_environment(tmp_path):
    from tests.core.test_settings import run_django

    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_ADDRESS_FAILURE_LIMIT, "
        "s.AXES_COOLOFF_TIME.total_seconds(), s.AXES_IPWARE_PROXY_COUNT, "
        "s.AXES_IPWARE_META_PRECEDENCE_ORDER)"
    )
    result = run_django(["-c", code], tmp_path, DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "5 20 900.0 None ['REMOTE_ADDR']"
    result = run_django(
        ["-c", code],
        tmp_path,
        DEBUG="true",
        AXES_FAILURE_LIMIT="3",
        AXES_ADDRESS_FAILURE_LIMIT="50",
        AXES_COOLOFF_MINUTES="60",
        AXES_IPWARE_PROXY_COUNT="0",
        AXES_IPWARE_META_PRECEDENCE_ORDER="HTTP_X_FORWARDED_FOR,REMOTE_ADDR",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == (
        "3 50 3600.0 0 ['HTTP_X_FORWARDED_FOR', 'REMOTE_ADDR']"
    )
