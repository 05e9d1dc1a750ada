"""Fixtures of the report tests: a reseller with a client and an outsider, each
with a Surfly account, and a helper writing index rows."""

from __future__ import annotations

import pytest

from cobrowse_portal.core.choices import ActivityKind, ActivityStatus
from cobrowse_portal.core.models import Activity, AgentIdentity
from cobrowse_portal.reports.models import ReportDefinition
from tests.core.conftest import make_account


@pytest.fixture
def accounts(reseller, client_workspace, other_workspace):
    return {
        "reseller": make_account(reseller, "Zebracorn Desk"),
        "client": make_account(client_workspace, "Globex Desk", key="k-globex"),
        "other": make_account(other_workspace, "Initech Desk", key="k-initech"),
    }


_seq = {"n": 0}


def activity(account, started_at, duration=60, agent=None, removed_at=None):
    _seq["n"] += 1
    return Activity.objects.create(
        workspace=account.workspace,
        account=account,
        vendor=account.vendor,
        kind=ActivityKind.COBROWSE,
        external_id=f"a{_seq['n']}",
        status=ActivityStatus.ENDED,
        started_at=started_at,
        duration=duration,
        agent=agent,
        removed_at=removed_at,
    )


def agent(workspace, name):
    return AgentIdentity.objects.create(
        workspace=workspace, email=f"{name.lower()}@example.com", name=name
    )


def definition(workspace, **fields) -> ReportDefinition:
    values = {
        "name": "Ops weekly",
        "frequency": "weekly",
        "hour": 7,
        "recipients": "ops@example.com, lead@example.com",
        "sections": ["activity", "agents", "usage", "sync_health"],
        **fields,
    }
    return ReportDefinition.objects.create(workspace=workspace, **values)


@pytest.fixture
def outbox_dir(settings, tmp_path):
    """The embedded file backend, writing into a folder of this test."""
    settings.EMAIL_BACKEND = "cobrowse_portal.reports.mail.OutboxFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    return tmp_path / "outbox"
