"""The provisioning pages: the new-client form's refusals, the run page and its
polling, retry and abandon through the buttons, removal and offboarding pages,
and who may open what (a client workspace's admin never sees its siblings)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cobrowse_portal.core.choices import Role, WorkspaceKind
from cobrowse_portal.core.models import AgentIdentity, Workspace
from cobrowse_portal.provisioning import engine
from cobrowse_portal.provisioning.models import (
    ProvisioningRun,
    ProvisioningStep,
    RunKind,
    RunStatus,
    StepStatus,
)
from tests.conftest import make_user

from .conftest import SANDBOX, choices, client_fields


def form_data(name="Initrode", **vendors) -> dict:
    data = {
        "name": name,
        "domains": "initrode.example, *.initrode.example",
        "time_zone": "Europe/Amsterdam",
        "agent_name": "Ivy Init",
        "agent_email": "ivy@initrode.example",
    }
    for slug, fields in vendors.items():
        data[f"{slug}__enabled"] = "on"
        data.update({f"{slug}__{k}": v for k, v in fields.items()})
    return data


@pytest.fixture
def admin_client(client, reseller):
    client.force_login(make_user("ada", reseller, Role.ADMIN))
    return client


@pytest.mark.django_db
class TestTheForm:
    def test_lists_each_vendor_and_says_which_need_an_account(self, admin_client):
        html = admin_client.get(reverse("provisioning:client_new")).content.decode()
        for label in ("Surfly", "SameSurf", "Smartsupp", "Upscope", "Serviceform"):
            assert f"Provision at {label}" in html
        # No reseller account of Surfly here: its tick is off, and says why.
        assert "Add a Surfly reseller account to this workspace first." in html
        assert 'name="surfly__enabled"' in html and "disabled" in html

    def test_refusals_are_shown_next_to_their_fields(self, admin_client, reseller):
        from tests.conftest import sandbox_account

        sandbox_account(reseller, "https://surfly.example", vendor="samesurf")
        sandbox_account(reseller, "https://smartsupp.example", vendor="smartsupp")
        url = reverse("provisioning:client_new")
        response = admin_client.post(url, form_data())
        assert response.status_code == 400
        assert "Tick at least one vendor." in response.content.decode()
        response = admin_client.post(
            url,
            form_data(
                samesurf={"license_count": ""},
                smartsupp={"lang": "english", "password": ""},
                upscope={"base_url": "http://10.0.0.7/api", "api_key": ""},
            ),
        )
        html = response.content.decode()
        assert response.status_code == 400
        assert "How many SameSurf licences?" in html
        assert "Two lower-case letters, e.g. en." in html
        assert "Smartsupp needs a password for the first agent." in html
        assert "REST API key is needed to add Upscope." in html
        assert "10.0.0.7 is not a public address" in html, html[
            html.find("vendor-upscope") :
        ][:3000]
        # What was typed is kept (nothing lost).
        assert 'value="Initrode"' in html
        assert not Workspace.objects.filter(name="Initrode").exists()
        assert not ProvisioningRun.objects.exists()

    def test_a_clashing_name_is_refused(self, admin_client, reseller, client_workspace):
        response = admin_client.post(
            reverse("provisioning:client_new"),
            form_data(client_workspace.name.upper(), upscope={"api_key": "k"}),
        )
        assert response.status_code == 400
        assert (
            "already has a client workspace by that name" in response.content.decode()
        )


@pytest.mark.django_db
class TestWhoMayOpenWhat:
    def test_an_agent_gets_403(self, client, reseller):
        client.force_login(make_user("aga", reseller, Role.AGENT))
        assert client.get(reverse("provisioning:clients")).status_code == 403

    def test_a_client_admin_sees_no_clients_and_no_sibling(
        self, client, reseller, client_workspace
    ):
        sibling = Workspace.objects.create(
            name="Sibling", slug="sibling", kind=WorkspaceKind.CLIENT, parent=reseller
        )
        run = ProvisioningRun.objects.create(
            workspace=reseller,
            client=sibling,
            kind=RunKind.PROVISION,
            subject="Sibling",
        )
        client.force_login(make_user("gil", client_workspace, Role.ADMIN))
        for url in (
            reverse("provisioning:clients"),
            reverse("provisioning:client_new"),
            reverse("provisioning:client_remove", args=[sibling.pk]),
            reverse("provisioning:run", args=[run.pk]),
        ):
            response = client.get(url)
            assert response.status_code == 404, url
            assert b"Sibling" not in response.content
        # Nor does the sidebar offer the reseller's pages.
        html = client.get(reverse("core:dashboard")).content.decode()
        assert reverse("provisioning:clients") not in html

    def test_another_resellers_clients_never_appear(self, admin_client, reseller):
        other = Workspace.objects.create(
            name="Other Reseller", slug="other-r", kind=WorkspaceKind.RESELLER
        )
        theirs = Workspace.objects.create(
            name="Their Client", slug="their", kind=WorkspaceKind.CLIENT, parent=other
        )
        html = admin_client.get(reverse("provisioning:clients")).content.decode()
        assert "Their Client" not in html
        url = reverse("provisioning:client_remove", args=[theirs.pk])
        assert admin_client.get(url).status_code == 404
        assert admin_client.post(url).status_code == 404
        theirs.refresh_from_db()
        assert theirs.archived_at is None


@SANDBOX
@pytest.mark.usefixtures("eager")
class TestTheFlowThroughThePages:
    def test_provision_follow_the_run_and_open_the_client(
        self, admin_client, reseller, reseller_accounts
    ):
        response = admin_client.post(
            reverse("provisioning:client_new"),
            form_data(
                "Initrode",
                surfly={"company_plan_name": ""},
                samesurf={"license_count": "3"},
                smartsupp={"lang": "en", "role": "admin", "password": "s3cret-pw"},
            ),
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        run = ProvisioningRun.objects.get(subject="Initrode")
        assert response["Location"] == reverse("provisioning:run", args=[run.pk])
        page = admin_client.get(response["Location"])
        html = page.content.decode()
        assert html.count('data-status="done"') == 3, html
        assert "s3cret-pw" not in html
        assert "Open Initrode" in html
        # The status block polls while steps run; a finished run says stop (286).
        part = admin_client.get(
            response["Location"] + "?part=steps", HTTP_HX_REQUEST="true"
        )
        assert part.status_code == 286 and "hx-trigger" not in part.content.decode()
        # The new client opens like any workspace.
        admin_client.post(
            reverse("core:switch_workspace"), {"workspace": run.client_id}
        )
        dash = admin_client.get(reverse("core:dashboard"))
        assert dash.status_code == 200 and "Initrode" in dash.content.decode()

    def test_retry_and_abandon_buttons(
        self, admin_client, reseller, reseller_accounts, settings
    ):
        from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
        from vendors.surfly.sandbox.seed import RESELLER_KEY

        settings.VENDOR_MAX_RETRIES = 0
        set_faults("surfly", RESELLER_KEY, rate_500=1.0)
        run = engine.start_provisioning(
            reseller,
            None,
            client_fields("Dunder"),
            choices(reseller_accounts, "surfly", "samesurf"),
        )
        step = run.steps.get(vendor="surfly")
        page = admin_client.get(reverse("provisioning:run", args=[run.pk]))
        assert b'data-status="failed"' in page.content and b">Retry<" in page.content
        clear_faults("surfly", RESELLER_KEY)
        url = reverse("provisioning:step_action", args=[run.pk, step.pk, "retry"])
        assert admin_client.get(url).status_code == 405
        assert admin_client.post(url).status_code == 302
        step.refresh_from_db()
        assert step.status == StepStatus.DONE
        # A done step can be neither retried nor abandoned.
        admin_client.post(
            reverse("provisioning:step_action", args=[run.pk, step.pk, "abandon"])
        )
        step.refresh_from_db()
        assert step.status == StepStatus.DONE
        bogus = reverse("provisioning:step_action", args=[run.pk, step.pk, "explode"])
        assert admin_client.post(bogus).status_code == 404

    def test_remove_page_lists_holdings_then_archives(
        self, admin_client, reseller, reseller_accounts
    ):
        run = engine.start_provisioning(
            reseller,
            None,
            client_fields("Prestige"),
            choices(reseller_accounts, "surfly", "samesurf"),
        )
        url = reverse("provisioning:client_remove", args=[run.client_id])
        html = admin_client.get(url).content.decode()
        assert "deleted at Surfly" in html and "deleted at SameSurf" in html
        assert "Prestige (4 licences)" in html
        response = admin_client.post(url)
        removal = ProvisioningRun.objects.get(kind=RunKind.DEPROVISION)
        assert response["Location"] == reverse("provisioning:run", args=[removal.pk])
        removal.refresh_from_db()
        assert removal.status == RunStatus.DONE
        listing = admin_client.get(reverse("provisioning:clients")).content.decode()
        assert "archived" in listing
        # An archived workspace cannot be opened any more.
        switch = admin_client.post(
            reverse("core:switch_workspace"), {"workspace": run.client_id}
        )
        assert switch.status_code == 404

    def test_offboard_page(self, admin_client, reseller, reseller_accounts):
        identity = AgentIdentity.objects.create(
            workspace=reseller, email="nobody@example.com", name="Nobody"
        )
        url = reverse("provisioning:offboard", args=[identity.pk])
        assert b"no vendor user left" in admin_client.get(url).content
        response = admin_client.post(url)
        assert response.status_code == 302
        assert not ProvisioningRun.objects.filter(kind=RunKind.OFFBOARD).exists()
        assert ProvisioningStep.objects.count() == 0
