"""The demo's portal-side Upscope rows (`manage.py demo_setup`).

The streams fill sessions, visitors online, usage and agents when `make run`
starts (new schedules are due at once). Two things no stream fills:

- visitors seen *before* the demo began: the visitors stream stores who is
  online now (at most 10 a minute), so the sessions of offline visitors would
  name their visitor by short id only. The demo stores the sandbox account's
  latest visitors as if the portal had seen them (its sessions then carry
  their names and tags);
- the workspace's people: the agents stream looks up the agent directory's
  e-mails at Upscope, and the demo's directory knows none of the sandbox's
  users (their e-mails are the sandbox's own). The demo adds them to the
  directory of the account's workspace, as a support team would be.
"""

from __future__ import annotations

from django.utils import timezone

from cobrowse_portal.core.models import AgentIdentity
from cobrowse_portal.vendorkit.activity import normalise_email

from .sandbox import records
from .sandbox.models import Account, Agent, Visitor
from .schemas import Visitor as VisitorData
from .sync import store_visitors

#: Visitors of each sandbox account stored for the demo (online ones first).
DEMO_VISITORS = 40


def _visitors(account, vendor: Account) -> int:
    now = timezone.now()
    found = records.with_presence(
        Visitor.objects.filter(account=vendor), vendor, now
    ).order_by("-online", "-added_at", "-pk")[:DEMO_VISITORS]
    parsed = [
        VisitorData.parse(records.visitor(v, vendor, now, sessions=[])) for v in found
    ]
    store_visitors(account, parsed)
    return len(parsed)


def _people(account, vendor: Account) -> int:
    made = 0
    for name, email in (
        Agent.objects.filter(account=vendor)
        .exclude(email="")
        .values_list("name", "email")
    ):
        _, created = AgentIdentity.objects.get_or_create(
            workspace_id=account.workspace_id,
            email=normalise_email(email),
            defaults={"name": name},
        )
        made += created
    return made


def demo_rows(accounts: dict) -> str:
    """Store the sandbox's latest visitors and its users' directory entries for
    the demo accounts ({"reseller": account, "client": account})."""
    visitors = people = 0
    for account in accounts.values():
        vendor = Account.objects.filter(
            api_key=(account.credentials or {}).get("api_key", "")
        ).first()
        if vendor is None:
            continue
        visitors += _visitors(account, vendor)
        people += _people(account, vendor)
    if not visitors:
        return "the sandbox is not seeded"
    return f"{visitors} visitors stored, {people} people added to the directory"
