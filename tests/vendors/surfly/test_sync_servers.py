"""The servers stream against the sandbox over real HTTP: what is stored is what
the sandbox lists, the page shows it, and a server gone at Surfly is marked
removed and leaves the page."""

from __future__ import annotations

from django.urls import reverse

from cobrowse_portal.core.choices import RunStatus
from cobrowse_portal.vendorkit.runs import execute_stream
from tests.conftest import sandbox_account
from vendors.surfly.models import SurflyServer
from vendors.surfly.sandbox.views import company as sandbox_company

from .conftest import SANDBOX

pytestmark = SANDBOX


def listed(api) -> dict[str, dict]:
    """The sandbox's answer to GET /servers, by id."""
    response = api.get("servers")
    assert response.status_code == 200
    return {str(s["id"]): s for s in response.json()}


def stored(account) -> dict[str, tuple]:
    return {
        s.external_id: (s.description, s.region, s.ips, s.raw)
        for s in SurflyServer.objects.filter(account=account, removed_at__isnull=True)
    }


def expected_rows(servers: dict[str, dict]) -> dict[str, tuple]:
    return {
        sid: (
            s["description"],
            s["region"],
            [ip.strip() for ip in s["ips"].split(",") if ip.strip()],
            s,
        )
        for sid, s in servers.items()
    }


def test_servers_stream_stores_the_sandbox_servers_and_the_page_lists_them(
    reseller, personas, client, live_server, api, monkeypatch
):
    servers = listed(api)
    assert len(servers) >= 3  # a real list, not one row that matches by luck
    account = sandbox_account(reseller, live_server.url)

    run = execute_stream(account.pk, "servers")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.created, run.updated) == (len(servers), 0)
    assert run.requests >= 1
    assert stored(account) == expected_rows(servers)

    client.force_login(personas["manager"])
    page = client.get(reverse("surfly:servers", args=[account.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    for sid, (description, region, ips, _) in expected_rows(servers).items():
        assert f'<td class="mono">{sid}</td>' in html
        assert description in html and region in html
        assert ", ".join(ips) in html

    # Again: nothing new, nothing changed (a full listing reconciles in place).
    again = execute_stream(account.pk, "servers")
    assert again.status == RunStatus.SUCCEEDED, again.error
    assert (again.created, again.updated) == (0, 0)
    assert SurflyServer.objects.filter(account=account).count() == len(servers)

    # Surfly retires one server and moves another: the next run follows.
    gone, moved = sorted(servers)[:2]
    changed = [
        {**s, "ips": "192.0.2.99"} if sid == moved else s
        for sid, s in servers.items()
        if sid != gone
    ]
    monkeypatch.setattr(sandbox_company, "SERVERS", changed)
    third = execute_stream(account.pk, "servers")
    assert third.status == RunStatus.SUCCEEDED, third.error
    assert stored(account) == expected_rows(listed(api))
    assert gone not in stored(account) and stored(account)[moved][2] == ["192.0.2.99"]
    assert SurflyServer.objects.get(account=account, external_id=gone).removed_at
    html = client.get(reverse("surfly:servers", args=[account.pk])).content.decode()
    assert f'<td class="mono">{gone}</td>' not in html
    assert servers[gone]["description"] not in html
    assert "192.0.2.99" in html
