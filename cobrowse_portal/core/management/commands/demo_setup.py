"""Create (idempotently) the demo: a reseller workspace with one client workspace,
a user per role, seeded sandboxes and vendor accounts pointing at them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import import_string

from cobrowse_portal.core.choices import Role, WorkspaceKind
from cobrowse_portal.core.models import Membership, VendorAccount, Workspace
from cobrowse_portal.vendorkit import registry

DEMO_USERS = [
    # username, password, workspace slug, role: plain users, never Django staff, so
    # a tenant's admin sees only its own workspaces (the Django admin shows them all).
    ("admin", "demo-admin-2026", "acme-resellers", Role.ADMIN),
    ("manager", "demo-manager-2026", "acme-resellers", Role.MANAGER),
    ("agent", "demo-agent-2026", "acme-resellers", Role.AGENT),
    ("globex-admin", "demo-globex-2026", "globex", Role.ADMIN),
]
#: The operator of the installation: the Django admin's only user, in no workspace.
OPS_USER = ("ops", "demo-ops-2026")


class Command(BaseCommand):
    help = "Set up the demo workspaces, users and sandbox accounts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--size", type=int, default=300, help="sandbox history rows"
        )

    def handle(self, *args, base_url: str, size: int, **opts):
        base_url = base_url.rstrip("/")
        for spec in registry.all_vendors():
            if spec.sandbox_seed:
                summary = import_string(spec.sandbox_seed)(
                    size=size, seed=1, reset=False
                )
                self.stdout.write(f"sandbox {spec.slug}: {summary}")
        with transaction.atomic():
            reseller, _ = Workspace.objects.get_or_create(
                slug="acme-resellers",
                defaults={"name": "Acme Resellers", "kind": WorkspaceKind.RESELLER},
            )
            client, _ = Workspace.objects.get_or_create(
                slug="globex",
                defaults={
                    "name": "Globex (client)",
                    "kind": WorkspaceKind.CLIENT,
                    "parent": reseller,
                },
            )
            spaces = {"acme-resellers": reseller, "globex": client}
            User = get_user_model()
            for username, password, slug, role in DEMO_USERS:
                user = self._user(User, username, password, superuser=False)
                Membership.objects.update_or_create(
                    user=user, workspace=spaces[slug], defaults={"role": role}
                )
            self._user(User, *OPS_USER, superuser=True)
            for spec in registry.all_vendors():
                demo_accounts = {}
                for kind, workspace in (("reseller", reseller), ("client", client)):
                    creds = spec.sandbox_demo_credentials.get(kind)
                    if not creds:
                        continue
                    url = f"{base_url}{spec.sandbox_path}"
                    account = VendorAccount.objects.filter(
                        workspace=workspace,
                        vendor=spec.slug,
                        name=f"{spec.label} sandbox",
                    ).first()
                    if account is None:
                        account = VendorAccount(
                            workspace=workspace,
                            vendor=spec.slug,
                            name=f"{spec.label} sandbox",
                            base_url=url,
                        )
                        account.set_credentials(creds)
                        account.save()
                    elif account.base_url != url:
                        account.base_url = url
                        account.save()
                    if spec.sandbox_connect_webhooks:
                        import_string(spec.sandbox_connect_webhooks)(
                            creds, f"{base_url}{account.webhook_path}"
                        )
                    demo_accounts[kind] = account
                if spec.sandbox_demo_rows and demo_accounts:
                    summary = import_string(spec.sandbox_demo_rows)(demo_accounts)
                    self.stdout.write(f"demo {spec.slug}: {summary}")
            # Two clients provisioned through the reseller flow (its worker runs
            # the steps once `make run` has started).
            from cobrowse_portal.provisioning.demo import demo_clients

            admin = get_user_model().objects.get(username=DEMO_USERS[0][0])
            self.stdout.write(f"demo clients: {demo_clients(reseller, admin)}")
        # A daily report, run once: its page and the Outbox have something to show.
        from cobrowse_portal.reports.demo import demo_report

        self.stdout.write(f"demo report: {demo_report(reseller)}")
        self.stdout.write("\nDemo logins (also in README):")
        for username, password, slug, role in DEMO_USERS:
            self.stdout.write(f"  {username:<13} / {password:<18} {role} in {slug}")
        username, password = OPS_USER
        self.stdout.write(
            f"  {username:<13} / {password:<18} Django admin (/admin/), no workspace"
        )

    @staticmethod
    def _user(User, username: str, password: str, *, superuser: bool):
        """Create the user with its password once; its staff flags every time, so
        a demo set up by an older version loses them too."""
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            user.email = f"{username}@example.com"
        user.is_staff = user.is_superuser = superuser
        user.save()
        return user
