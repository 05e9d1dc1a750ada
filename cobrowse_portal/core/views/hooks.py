"""The inbound webhook endpoint: /hooks/<account id>/<token>/."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cobrowse_portal.vendorkit import webhooks

from ..models import VendorAccount


@csrf_exempt
@require_POST
def receive(request, account_id: int, token: str):
    # The hot path of every delivery: only the columns the check and the intake
    # use, and no ORDER BY (a primary-key lookup needs none).
    account = next(
        iter(
            VendorAccount.objects.filter(pk=account_id).only(
                "id", "vendor", "webhook_token", "workspace_id"
            )[:1]
        ),
        None,
    )
    if not webhooks.token_matches(account, token) or not account.spec.webhook_handler:
        return JsonResponse({"error": "unknown webhook"}, status=404)
    status, message, _ = webhooks.receive(account, request.body)
    return JsonResponse({"status": message}, status=status)
