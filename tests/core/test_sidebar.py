"""The sidebar: the control room first, one link set per vendor pointed at the
account picked (the page's account, else the remembered one, else the first),
Operations last, each link only for roles its view lets in."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cobrowse_portal.core.context_processors import ACCOUNT_COOKIE_PREFIX

from .conftest import make_account

COOKIE = ACCOUNT_COOKIE_PREFIX + "surfly"


def sidebar(response) -> str:
    html = response.content.decode()
    return re.search(r'<nav class="sidebar.*?</nav>', html, re.S).group(0)


def group(html: str, slug: str) -> str:
    found = re.search(
        rf'<div class="nav-group[^"]*" id="nav-{slug}".*?</ul>', html, re.S
    )
    return found.group(0) if found else ""


@pytest.fixture
def desks(reseller):
    # Listed by name: "Acme EU desk" before "Acme support desk".
    return make_account(reseller, "Acme support desk"), make_account(
        reseller, "Acme EU desk"
    )


def test_sections_in_order_and_one_link_set_per_vendor(client, personas, desks):
    support, eu = desks
    client.force_login(personas["admin"])
    html = sidebar(client.get(reverse("core:dashboard")))
    heads = re.findall(r'<div class="nav-head">([^<]+)</div>', html)
    # The workspace is a reseller's: its clients have a section of their own.
    assert heads == ["Control room", "Surfly", "Reseller", "Operations"]
    assert html.index(reverse("core:dashboard")) < html.index('id="nav-surfly"')
    assert reverse("provisioning:clients") in html
    surfly = group(html, "surfly")
    # Two accounts, one set of links (the first account by name), and a picker.
    assert surfly.count(">Live sessions<") == 1
    assert reverse("surfly:live", args=[eu.pk]) in surfly
    assert reverse("surfly:live", args=[support.pk]) not in surfly
    assert re.search(rf'<option value="{eu.pk}" selected>Acme EU desk</option>', surfly)
    assert f'<option value="{support.pk}">Acme support desk</option>' in surfly
    # The picker's script swaps the account id into each link's pattern.
    live_pattern = reverse("surfly:live", args=[eu.pk]).replace(
        str(eu.pk), "{account_id}"
    )
    assert f'data-nav-pattern="{live_pattern}"' in surfly


def test_the_remembered_account_and_the_pages_own_account(client, personas, desks):
    support, eu = desks
    client.force_login(personas["manager"])
    client.cookies[COOKIE] = str(support.pk)
    html = sidebar(client.get(reverse("core:run_list")))
    surfly = group(html, "surfly")
    assert reverse("surfly:history", args=[support.pk]) in surfly
    assert f'<option value="{support.pk}" selected>' in surfly
    assert "data-nav-remember" not in surfly
    # A page of one account shows that account, whatever the cookie says, and the
    # script keeps it as the choice.
    response = client.get(reverse("surfly:history", args=[eu.pk]))
    surfly = group(sidebar(response), "surfly")
    assert f'<option value="{eu.pk}" selected>' in surfly
    assert "data-nav-remember" in surfly
    history = reverse("surfly:history", args=[eu.pk])
    assert re.search(rf'href="{history}"[^>]*class="nav-link active"', surfly)


@pytest.mark.parametrize("value", ["abc", "-1", "99999999", "", "1e3"])
def test_a_cookie_naming_no_account_of_the_workspace_falls_back(
    client, personas, desks, other_workspace, value
):
    support, eu = desks
    client.force_login(personas["agent"])
    client.cookies[COOKIE] = value
    surfly = group(sidebar(client.get(reverse("core:dashboard"))), "surfly")
    assert reverse("surfly:live", args=[eu.pk]) in surfly


def test_a_cookie_never_reaches_another_workspaces_account(
    client, personas, desks, other_workspace
):
    support, eu = desks
    outsider = make_account(other_workspace, "Initech desk")
    client.force_login(personas["admin"])
    client.cookies[COOKIE] = str(outsider.pk)
    html = sidebar(client.get(reverse("core:dashboard")))
    assert reverse("surfly:live", args=[outsider.pk]) not in html
    assert "Initech desk" not in html
    assert reverse("surfly:live", args=[eu.pk]) in html


def test_roles_see_only_the_links_their_role_opens(client, personas, desks):
    client.force_login(personas["agent"])
    html = sidebar(client.get(reverse("core:dashboard")))
    assert "Live sessions" in html and "Start co-browse" in html
    assert ">History<" not in html and "Company options" not in html
    assert "Operations" not in html and reverse("core:run_list") not in html
    client.force_login(personas["manager"])
    html = sidebar(client.get(reverse("core:dashboard")))
    assert ">History<" in html and reverse("core:run_list") in html


def test_a_single_account_has_no_picker(client, personas, reseller):
    make_account(reseller, "Only desk")
    client.force_login(personas["admin"])
    surfly = group(sidebar(client.get(reverse("core:dashboard"))), "surfly")
    assert "<select" not in surfly and "Only desk" in surfly


def test_control_room_names_not_defined_yet_are_left_out(client, personas, desks):
    from django.urls import NoReverseMatch

    client.force_login(personas["admin"])
    html = sidebar(client.get(reverse("core:dashboard")))
    control = group(html, "control")
    assert ">Dashboard<" in control
    for label, name in (
        ("Live", "core:live"),
        ("Activity", "core:activity"),
        ("Agents", "core:agents"),
        ("Usage", "core:usage"),
    ):
        try:
            url = reverse(name)
        except NoReverseMatch:
            assert f">{label}<" not in control
        else:
            assert f'href="{url}"' in control


def test_phone_toggler_and_offcanvas(client, personas, desks):
    client.force_login(personas["agent"])
    html = client.get(reverse("core:dashboard")).content.decode()
    assert 'class="sidebar offcanvas-lg offcanvas-start" id="sidebar"' in html
    assert re.search(r'id="sidebar-toggler"[^>]*data-bs-target="#sidebar"', html)
    assert "vendor/bootstrap/js/bootstrap.bundle.min.js" in html
    assert "vendor/bootstrap/css/bootstrap.min.css" in html
