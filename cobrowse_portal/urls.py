"""Root URLs: portal core, one include per vendor app, auth, admin, sandboxes."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from cobrowse_portal.core.views import hooks
from cobrowse_portal.vendorkit import registry, webhooks
from cobrowse_portal.vendorkit.redaction import secret_path

urlpatterns = [
    path("", include("cobrowse_portal.core.urls")),
    path("clients/", include("cobrowse_portal.provisioning.urls")),
    path("alerts/", include("cobrowse_portal.alerts.urls")),
    path("reports/", include("cobrowse_portal.reports.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # The token is a secret: masked in every log line (vendorkit.redaction).
    secret_path(webhooks.ROUTE, hooks.receive, name="webhook_receive"),
    path("admin/", admin.site.urls),
]

for spec in registry.all_vendors():
    urlpatterns.append(path(f"v/{spec.slug}/", include(f"vendors.{spec.slug}.urls")))
    if settings.SANDBOX_ENABLED:
        urlpatterns.append(
            path(f"sandbox/{spec.slug}/", include(f"vendors.{spec.slug}.sandbox.urls"))
        )

#: Sandboxes of vendors whose app does not register a VendorSpec yet (their
#: client and sandbox come first; the loop above mounts them once it does).
SANDBOX_ONLY: tuple[str, ...] = ()
if settings.SANDBOX_ENABLED:
    registered = {spec.slug for spec in registry.all_vendors()}
    for slug in SANDBOX_ONLY:
        if slug not in registered:
            urlpatterns.append(
                path(f"sandbox/{slug}/", include(f"vendors.{slug}.sandbox.urls"))
            )
