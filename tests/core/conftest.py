"""Fixtures of the platform tests: a Surfly account per workspace with a secret that
must never leak, a run, a few synced vendor rows, and a superuser."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from cobrowse_portal.core.choices import RunStatus, Trigger
from cobrowse_portal.core.models import SyncRun, VendorAccount, Workspace
from tests.conftest import PASSWORD

SURFLY_URL = "https://surfly.test/v2"
# Distinctive values, so "absent from the page/log" assertions cannot pass by luck.
SECRET = "sfk-live-7Hq2ZpX9wLm4Rt8Vb3Nc6Yd1"
OTHER_SECRET = "sfk-live-other-Qw8Er7Ty6Ui5Op4"


def make_account(
    workspace: Workspace,
    name: str,
    key: str = SECRET,
    base_url: str = SURFLY_URL,
    vendor: str = "surfly",
    **fields,
) -> VendorAccount:
    account = VendorAccount(
        workspace=workspace, vendor=vendor, name=name, base_url=base_url, **fields
    )
    account.set_credentials({"api_key": key})
    account.save()
    return account


def make_run(account, stream="agents", status=RunStatus.SUCCEEDED, **fields) -> SyncRun:
    now = timezone.now()
    defaults = {
        "trigger": Trigger.SCHEDULED,
        "started_at": now,
        "finished_at": now if status != RunStatus.QUEUED else None,
    }
    return SyncRun.objects.create(
        account=account, stream=stream, status=status, **{**defaults, **fields}
    )


def seed_surfly_rows(account, tag: str) -> dict:
    """One synced row of each Surfly model, named after `tag` (found on pages)."""
    from vendors.surfly import models as m

    now = timezone.now()
    common = {"account": account, "synced_at": now}
    return {
        "agent": m.SurflyAgent.objects.create(
            external_id=f"{tag}-agent",
            name=f"{tag} Agent",
            email="a@example.com",
            **common,
        ),
        "session": m.CobrowseSession.objects.create(
            external_id=f"{tag}-session",
            api_id=f"{tag}-session",
            formatted_id="123-456-789",
            start_time=now,
            is_active=True,
            **common,
        ),
        "webhook": m.SurflyWebhook.objects.create(
            external_id=f"{tag}-hook",
            url="https://example.com/hook",
            category="session.started",
            **common,
        ),
        "client": m.SurflyClient.objects.create(
            external_id=f"{tag}-client", company_name=f"{tag} Client Co", **common
        ),
        "server": m.SurflyServer.objects.create(
            external_id=f"{tag}-server",
            description=f"{tag} Server",
            region="eu",
            **common,
        ),
    }


SAMESURF_URL = "https://samesurf.test/api/v3"


def make_samesurf_account(workspace: Workspace, name: str, key: str) -> VendorAccount:
    account = VendorAccount(
        workspace=workspace, vendor="samesurf", name=name, base_url=SAMESURF_URL
    )
    account.set_credentials({"api_key": key, "api_secret": f"{key}-secret"})
    account.save()
    return account


def seed_samesurf_rows(account, tag: str) -> dict:
    """One row of each SameSurf model a page opens, named after `tag`."""
    from vendors.samesurf import models as m

    now = timezone.now()
    common = {"account": account, "synced_at": now}
    room = m.SameSurfRoom.objects.create(
        external_id=f"{tag}-room",
        number="123456789",
        version=0,
        title=f"{tag} Room",
        started_at=now,
        is_running=True,
        recordings=1,
        **common,
    )
    sub = m.SameSurfSubscription.objects.create(
        external_id=f"{tag} Subscription",
        name=f"{tag} Subscription",
        license_count=3,
        **common,
    )
    return {
        "room": room,
        "recording": m.SameSurfRecording.objects.create(
            external_id=f"{tag}-room#0", room=room, index=0, **common
        ),
        "scheduled": m.SameSurfScheduledRoom.objects.create(
            external_id="987654321",
            title=f"{tag} Scheduled",
            event_at=now + timedelta(days=1),
            **common,
        ),
        "token": m.SameSurfToken.objects.create(
            external_id=f"{tag}-token",
            room=room,
            room_number=room.number,
            usage_limit=1,
            **common,
        ),
        "subscription": sub,
    }


UPSCOPE_URL = "https://upscope.test/v1.3"


def make_upscope_account(workspace: Workspace, name: str, key: str) -> VendorAccount:
    account = VendorAccount(
        workspace=workspace, vendor="upscope", name=name, base_url=UPSCOPE_URL
    )
    account.set_credentials({"api_key": key})
    account.save()
    return account


def seed_upscope_rows(account, tag: str) -> dict:
    """One row of each Upscope model a page opens, named after `tag`."""
    from vendors.upscope import models as m

    now = timezone.now()
    common = {"account": account, "synced_at": now}
    return {
        "visitor": m.UpscopeVisitor.objects.create(
            external_id=f"{tag}-visitor",
            call_name=f"{tag} Visitor",
            is_online=True,
            last_seen_at=now,
            **common,
        ),
        "session": m.UpscopeSession.objects.create(
            external_id=f"{tag}-session",
            visitor_short_id=f"{tag}-visitor",
            agent_name=f"{tag} Agent",
            started_at=now,
            is_ongoing=True,
            **common,
        ),
        "agent": m.UpscopeAgent.objects.create(
            external_id=f"{tag}-agent", name=f"{tag} Agent", **common
        ),
        "usage": m.UpscopeUsage.objects.create(
            external_id=f"{tag}-hour", taken_at=now, sessions_now=1, **common
        ),
    }


SMARTSUPP_URL = "http://api.smartsupp.com"


def make_smartsupp_account(
    workspace: Workspace, name: str, key: str
) -> VendorAccount | None:
    """A Smartsupp account, once Smartsupp registers its VendorSpec (its pages
    came before it: until then there is none to walk)."""
    from cobrowse_portal.vendorkit import registry

    if "smartsupp" not in {s.slug for s in registry.all_vendors()}:
        return None
    account = VendorAccount(
        workspace=workspace, vendor="smartsupp", name=name, base_url=SMARTSUPP_URL
    )
    account.set_credentials({"api_key": key})
    account.save()
    return account


def seed_smartsupp_rows(account, tag: str) -> dict:
    """One row of each Smartsupp model a page opens, named after `tag`."""
    if account is None:
        return {}
    from vendors.smartsupp import models as m

    now = timezone.now()
    common = {"account": account, "synced_at": now}
    sa = m.SmartsuppAccount.objects.create(
        external_id=f"{tag}-acct", title=f"{tag} Chat", account_key=f"{tag}k", **common
    )
    chat = m.SmartsuppChat.objects.create(
        external_id=f"{tag}-chat",
        smartsupp_account_id=sa.external_id,
        begin_at=now,
        visitor_name=f"{tag} Visitor",
        **common,
    )
    m.SmartsuppChatMessage.objects.create(
        chat=chat, position=0, type="visitor", content=f"{tag} hello"
    )
    return {
        "account": sa,
        "user": m.SmartsuppUser.objects.create(
            external_id=f"{tag}-user",
            smartsupp_account=sa,
            role="agent",
            fullname=f"{tag} Agent",
            **common,
        ),
        "trigger": m.SmartsuppTrigger.objects.create(
            external_id=f"{tag}-trigger",
            smartsupp_account=sa,
            name=f"{tag} greeting",
            **common,
        ),
        "hours": m.SmartsuppOfficeHours.objects.create(
            external_id=sa.external_id, smartsupp_account=sa, **common
        ),
        "chat": chat,
    }


def seed_serviceform_rows(account, tag: str) -> dict:
    from vendors.serviceform import models as m

    now = timezone.now()
    common = {"account": account, "synced_at": now}
    space = m.ServiceformSpace.objects.create(
        external_id=f"{tag}-space",
        name=f"{tag} Space",
        fields=[
            {
                "machine": "customer",
                "name": "Customer",
                "type": "text",
                "required": True,
            },
            {
                "machine": "status",
                "name": "Status",
                "type": "select",
                "options": [{"machine": "new", "label": "New", "value": "new"}],
            },
        ],
        **common,
    )
    chat = m.ServiceformChat.objects.create(
        external_id=f"{tag}-chat",
        visitor_name=f"{tag} Visitor",
        started_at=now,
        **common,
    )
    return {
        "space": space,
        "item": m.ServiceformItem.objects.create(
            external_id=f"{tag}-item",
            space=space,
            space_external_id=space.external_id,
            primary_field=f"{tag} Item",
            values={"customer": tag, "status": "new"},
            updated=now,
            **common,
        ),
        "lead": m.ServiceformLead.objects.create(
            external_id=f"{tag}-lead", name=f"{tag} Lead", created=now, **common
        ),
        "chat": chat,
        "stat": m.ServiceformChatStatDay.objects.create(
            external_id=now.date().isoformat(), day=now.date(), chats=1, **common
        ),
    }


def make_alert(account, name: str):
    """An open alert of the account's workspace (the Alerts pages' objects)."""
    from cobrowse_portal.alerts.models import Alert

    return Alert.objects.create(
        workspace=account.workspace,
        rule="account_rejected",
        key=f"account:{account.pk}",
        subject=f"{name} account",
        message="The vendor rejected the credentials.",
        account=account,
    )


def make_provisioning_run(workspace, client, name: str):
    """A failed new-client run (one failed step) and a person in the directory,
    so the provisioning pages have objects of each workspace to open."""
    from cobrowse_portal.core.models import AgentIdentity
    from cobrowse_portal.provisioning.models import (
        ProvisioningRun,
        ProvisioningStep,
        RunKind,
        RunStatus,
        StepStatus,
    )

    run = ProvisioningRun.objects.create(
        workspace=workspace,
        client=client,
        kind=RunKind.PROVISION,
        subject=f"{name} Client",
        status=RunStatus.FAILED,
    )
    ProvisioningStep.objects.create(
        run=run, vendor="surfly", status=StepStatus.FAILED, message="refused"
    )
    AgentIdentity.objects.get_or_create(
        workspace=workspace,
        email=f"person@{name.lower()}.example",
        defaults={"name": f"{name} Person"},
    )
    return run


def make_report(workspace, name: str):
    """A report definition with one stored, sent run and its Outbox row, so the
    report pages have objects of each workspace to open."""
    from cobrowse_portal.reports import engine
    from cobrowse_portal.reports.models import ReportDefinition

    definition = ReportDefinition.objects.create(
        workspace=workspace,
        name=f"{name} weekly report",
        frequency="weekly",
        recipients=f"ops@{name.lower()}.example",
        sections=["activity", "sync_health"],
    )
    run = engine.deliver(definition, "manual")  # locmem in tests: sent
    assert run.messages.exists()
    return definition


@dataclass
class Portal:
    """Everything the page walkers need, for one test."""

    personas: dict
    reseller: Workspace
    client_workspace: Workspace
    other_workspace: Workspace
    account: VendorAccount  # reseller's Surfly account
    other_account: VendorAccount  # the outsider's
    run: SyncRun
    other_run: SyncRun
    rows: dict = field(default_factory=dict)
    other_rows: dict = field(default_factory=dict)
    superuser: object = None
    samesurf: VendorAccount | None = None  # reseller's SameSurf account
    other_samesurf: VendorAccount | None = None
    upscope: VendorAccount | None = None
    other_upscope: VendorAccount | None = None
    smartsupp: VendorAccount | None = None  # None until its spec is registered
    other_smartsupp: VendorAccount | None = None
    serviceform: VendorAccount | None = None
    other_serviceform: VendorAccount | None = None

    @property
    def accounts(self) -> dict:
        """The reseller's account per vendor (the page walkers' `accounts`)."""
        accounts = {
            "surfly": self.account,
            "samesurf": self.samesurf,
            "upscope": self.upscope,
            "serviceform": self.serviceform,
        }
        if self.smartsupp is not None:
            accounts["smartsupp"] = self.smartsupp
        return accounts

    @property
    def other_accounts(self) -> dict:
        accounts = {
            "surfly": self.other_account,
            "samesurf": self.other_samesurf,
            "upscope": self.other_upscope,
            "serviceform": self.other_serviceform,
        }
        if self.other_smartsupp is not None:
            accounts["smartsupp"] = self.other_smartsupp
        return accounts

    @property
    def reseller_names(self) -> list[str]:
        """Strings that only the reseller's pages may show."""
        return [self.account.name]


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(
        "root", "root@example.com", PASSWORD
    )


@pytest.fixture
def portal(personas, reseller, client_workspace, other_workspace, superuser) -> Portal:
    account = make_account(reseller, "Zebracorn Reseller Desk")
    other = make_account(other_workspace, "Initech Helpdesk", key=OTHER_SECRET)
    samesurf = make_samesurf_account(reseller, "Zebracorn Rooms", SECRET + "-ss")
    other_samesurf = make_samesurf_account(
        other_workspace, "Initech Rooms", OTHER_SECRET + "-ss"
    )
    seed_samesurf_rows(samesurf, "Zebracorn")
    seed_samesurf_rows(other_samesurf, "Initech")
    upscope = make_upscope_account(reseller, "Zebracorn Visitors", SECRET + "-up")
    other_upscope = make_upscope_account(
        other_workspace, "Initech Visitors", OTHER_SECRET + "-up"
    )
    seed_upscope_rows(upscope, "Zebracorn")
    seed_upscope_rows(other_upscope, "Initech")
    smartsupp = make_smartsupp_account(reseller, "Zebracorn Chat", SECRET + "-sm")
    other_smartsupp = make_smartsupp_account(
        other_workspace, "Initech Chat", OTHER_SECRET + "-sm"
    )
    seed_smartsupp_rows(smartsupp, "Zebracorn")
    seed_smartsupp_rows(other_smartsupp, "Initech")
    serviceform = VendorAccount(
        workspace=reseller,
        vendor="serviceform",
        name="Zebracorn Forms",
        base_url="https://serviceform.test",
    )
    serviceform.set_credentials({"api_key": SECRET + "-sf"})
    serviceform.save()
    other_serviceform = VendorAccount(
        workspace=other_workspace,
        vendor="serviceform",
        name="Initech Forms",
        base_url="https://serviceform.test",
    )
    other_serviceform.set_credentials({"api_key": OTHER_SECRET + "-sf"})
    other_serviceform.save()
    seed_serviceform_rows(serviceform, "Zebracorn")
    seed_serviceform_rows(other_serviceform, "Initech")
    make_provisioning_run(reseller, client_workspace, "Zebracorn")
    make_provisioning_run(other_workspace, None, "Initech")
    make_alert(account, "Zebracorn")
    make_alert(other, "Initech")
    make_report(reseller, "Zebracorn")
    make_report(other_workspace, "Initech")
    return Portal(
        personas=personas,
        reseller=reseller,
        client_workspace=client_workspace,
        other_workspace=other_workspace,
        account=account,
        other_account=other,
        run=make_run(account, status=RunStatus.FAILED, error="boom at the vendor"),
        other_run=make_run(other),
        rows=seed_surfly_rows(account, "Zebracorn"),
        other_rows=seed_surfly_rows(other, "Initech"),
        superuser=superuser,
        samesurf=samesurf,
        other_samesurf=other_samesurf,
        upscope=upscope,
        other_upscope=other_upscope,
        smartsupp=smartsupp,
        other_smartsupp=other_smartsupp,
        serviceform=serviceform,
        other_serviceform=other_serviceform,
    )


@pytest.fixture
def no_network():
    """Vendor calls fail at once (an unregistered URL is a ConnectionError), so a
    page that calls out cannot hang or reach a real host."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
