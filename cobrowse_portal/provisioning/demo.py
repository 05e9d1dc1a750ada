"""The demo's two provisioned clients (`manage.py demo_setup`).

They are provisioned by the real flow: `demo_setup` starts the runs and the
worker of `make run` carries them out against the sandboxes over HTTP, like a
reseller's click would (a first try made before the web process listens fails
to connect and is tried again by itself 30 s later). Surfly's sandbox already
knows both companies, with months of sessions: the Surfly steps link them (the
flow's look-up-before-create) and their history gives the clients usage
figures; SameSurf and Smartsupp create theirs."""

from __future__ import annotations

from .engine import reseller_accounts, start_provisioning
from .models import ProvisioningRun, RunKind

CLIENTS = [
    {
        "client": {
            "name": "Initech",
            "domains": ["initech.example"],
            "time_zone": "America/Chicago",
            "agent_name": "Bill Lumbergh",
            "agent_email": "bill@initech.example",
        },
        "vendors": {
            "surfly": {"options": {"company_plan_name": "free"}},
            "smartsupp": {
                "options": {"lang": "en", "role": "admin"},
                "secrets": {"password": "demo-initech-2026"},
            },
        },
    },
    {
        "client": {
            "name": "Umbrella Health",
            "domains": ["umbrella.example"],
            "time_zone": "Europe/London",
            "agent_name": "Alice Abernathy",
            "agent_email": "alice@umbrella.example",
        },
        "vendors": {
            "surfly": {"options": {"company_plan_name": "client_enterprise"}},
            "samesurf": {"options": {"license_count": 5}},
        },
    },
]


def demo_clients(reseller, user) -> str:
    """Start the runs that have not been started before (idempotent)."""
    started = []
    for entry in CLIENTS:
        name = entry["client"]["name"]
        if ProvisioningRun.objects.filter(
            workspace=reseller, kind=RunKind.PROVISION, subject=name
        ).exists():
            continue
        vendors = {}
        for slug, choice in entry["vendors"].items():
            accounts = reseller_accounts(reseller, slug)
            if not accounts:
                continue
            vendors[slug] = {
                "account": accounts[0],
                "options": dict(choice.get("options", {})),
                "secrets": dict(choice.get("secrets", {})),
            }
        if vendors:
            start_provisioning(reseller, user, dict(entry["client"]), vendors)
            started.append(f"{name} ({', '.join(sorted(vendors))})")
    if not started:
        return "demo clients provisioned before"
    return "provisioning " + "; ".join(started) + " (the worker carries it out)"
