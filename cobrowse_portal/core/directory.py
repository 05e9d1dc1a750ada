"""The agent directory's hand-made decisions: link a vendor's agent row to a
person, or unlink it. Both mark the row `linked_by_hand`, so e-mail matching
leaves it alone, and move the row's activities to the chosen person."""

from __future__ import annotations

from django.db import transaction

from .models import Activity, AgentIdentity, VendorAgent


@transaction.atomic
def link_agent(vendor_agent: VendorAgent, identity: AgentIdentity) -> None:
    if identity.workspace_id != vendor_agent.workspace_id:
        raise ValueError("the identity belongs to another workspace")
    vendor_agent.identity = identity
    vendor_agent.linked_by_hand = True
    vendor_agent.save(update_fields=["identity", "linked_by_hand"])
    Activity.objects.filter(
        account=vendor_agent.account_id, agent_external_id=vendor_agent.external_id
    ).update(agent=identity)


@transaction.atomic
def unlink_agent(vendor_agent: VendorAgent) -> None:
    vendor_agent.identity = None
    vendor_agent.linked_by_hand = True
    vendor_agent.save(update_fields=["identity", "linked_by_hand"])
    Activity.objects.filter(
        account=vendor_agent.account_id, agent_external_id=vendor_agent.external_id
    ).update(agent=None)
