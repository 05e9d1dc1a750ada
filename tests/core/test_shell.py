"""The shell written in Python (core/shell.py) gives the HTML the template gave:
the old `_base.html` markup is kept here as the reference and rendered beside
the page, for each kind of user, compared as HTML (CSRF tokens aside)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.template import engines
from django.test.html import parse_html
from django.urls import reverse

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.models import Membership
from tests.conftest import make_user

from .conftest import make_account

#: The markup `_base.html` had before the shell moved to Python, verbatim.
HERE = Path(__file__).parent
OLD_SIDEBAR = (HERE / "shell_reference_sidebar.html").read_text()
OLD_TOPBAR = (HERE / "shell_reference_topbar.html").read_text()
TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+"')


CLOSE_BUTTON = 'aria-label="Close the menu"></button>\n    </div>'


def _between(html: str, start: str, end: str) -> str:
    a = html.index(start) + len(start)
    return html[a : html.index(end, a)]


def _same(new: str, old: str) -> None:
    new, old = TOKEN.sub(r'\1T"', new), TOKEN.sub(r'\1T"', old)
    assert parse_html(new) == parse_html(old), (new, old)


def _check(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code in (200, 403)
    html = response.content.decode()
    request = response.wsgi_request
    engine = engines["django"]
    old_sidebar = engine.from_string(OLD_SIDEBAR).render({}, request)
    old_topbar = engine.from_string(OLD_TOPBAR).render({}, request)
    _same(
        _between(html, CLOSE_BUTTON, "   </div>\n  </nav>"),
        old_sidebar,
    )
    _same(
        _between(html, '<div class="topbar-right">', "      </div>\n    </header>"),
        old_topbar,
    )
    return html


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager", "agent", "outsider"])
def test_shell_matches_the_template_it_replaced(
    client, personas, reseller, client_workspace, who
):
    make_account(reseller, "Acme <support> desk")
    make_account(reseller, "Acme EU desk")
    make_account(client_workspace, "Globex & co")
    client.force_login(personas[who])
    for url in (
        reverse("core:dashboard"),
        reverse("core:run_list"),
        reverse("core:account_list"),
    ):
        _check(client, url)


@pytest.mark.django_db
def test_shell_for_a_superuser_a_client_workspace_and_no_workspace(
    client, reseller, client_workspace
):
    make_account(client_workspace, "Globex desk")
    root = get_user_model().objects.create_superuser(
        "root<x>", "r@example.com", "pw-123456789"
    )
    Membership.objects.create(user=root, workspace=reseller, role=Role.ADMIN)
    client.force_login(root)
    html = _check(client, reverse("core:dashboard"))
    assert reverse("admin:index") in html and "↳" in html
    client.post(reverse("core:switch_workspace"), {"workspace": client_workspace.pk})
    _check(client, reverse("core:dashboard"))
    lonely = make_user("lonely")
    client.force_login(lonely)
    html = _check(client, reverse("core:dashboard"))
    assert "Log out" in html and "ws-select" not in html


@pytest.mark.django_db
def test_each_request_gets_its_own_csrf_token_in_the_shell(client, personas, reseller):
    make_account(reseller, "Desk")
    client.force_login(personas["admin"])
    first = client.get(reverse("core:dashboard"))
    client.cookies.clear()
    client.force_login(personas["manager"])
    second = client.get(reverse("core:dashboard"))
    secrets = [TOKEN.findall(r.content.decode()) for r in (first, second)]
    assert secrets[0] and secrets[1]
    assert "max" in second.content.decode() and ">ada<" not in second.content.decode()
