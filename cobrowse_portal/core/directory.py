"""The agent directory's service functions for managers (the Agents page).

Matching by e-mail is automatic (`vendorkit.activity.write_agents`); a manager's
own link or unlink sets `linked_by_hand`, which matching then leaves alone, and
`rematch_agent` hands the row back to matching. The vendor agent's activities
follow its identity in the same transaction (one UPDATE)."""

from __future__ import annotations

from django.db import router, transaction

from cobrowse_portal.vendorkit.activity import (
    follow_agents,
    match_identities,
    normalise_email,
)

from .models import AgentIdentity, VendorAgent


class DirectoryError(ValueError):
    """A link the directory refuses (e.g. a person of another workspace)."""


def _relink(vendor_agent: VendorAgent, identity_id: int | None, by_hand: bool):
    using = router.db_for_write(VendorAgent)
    with transaction.atomic(using=using):
        VendorAgent.objects.using(using).filter(pk=vendor_agent.pk).update(
            identity_id=identity_id, linked_by_hand=by_hand
        )
        follow_agents(vendor_agent.account_id, [vendor_agent.external_id], using=using)
    vendor_agent.identity_id, vendor_agent.linked_by_hand = identity_id, by_hand
    return vendor_agent


def link_agent(vendor_agent: VendorAgent, identity: AgentIdentity) -> VendorAgent:
    """Link a vendor's agent to a person by hand (e-mails that differ)."""
    if identity.workspace_id != vendor_agent.workspace_id:
        raise DirectoryError("That person belongs to another workspace.")
    return _relink(vendor_agent, identity.pk, True)


def unlink_agent(vendor_agent: VendorAgent) -> VendorAgent:
    """Detach a vendor's agent from its person; matching will not link it again."""
    return _relink(vendor_agent, None, True)


def rematch_agent(vendor_agent: VendorAgent) -> VendorAgent:
    """Undo a manager's decision: the row is matched by its e-mail again."""
    using = router.db_for_write(VendorAgent)
    email = normalise_email(vendor_agent.email)
    found = match_identities(
        vendor_agent.workspace_id,
        {email: vendor_agent.name},
        using=using,
        create=vendor_agent.removed_at is None,
    )
    return _relink(vendor_agent, found.get(email), False)
