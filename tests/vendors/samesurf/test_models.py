"""SameSurf models: keys stored only encrypted, short-lived recording links."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from cobrowse_portal.core.models import VendorAccount
from vendors.samesurf.models import (
    SameSurfApiKey,
    SameSurfRecording,
    SameSurfRoom,
    SameSurfSubscription,
    key_digest,
)

pytestmark = pytest.mark.django_db

KEY, SECRET = "client-key-0123456789", "client-secret-abcdefghijklmnop"


@pytest.fixture
def account(reseller):
    account = VendorAccount(
        workspace=reseller, vendor="samesurf", name="SS", base_url="https://x.test"
    )
    account.set_credentials({"api_key": "k", "api_secret": "s"})
    account.save()
    return account


def test_api_key_is_stored_only_encrypted(account):
    sub = SameSurfSubscription.objects.create(
        account=account, external_id="Globex", name="Globex", license_count=3
    )
    SameSurfApiKey.build(sub, KEY, SECRET).save()
    row = SameSurfApiKey.objects.get()
    stored = " ".join(str(v) for v in SameSurfApiKey.objects.values().get().values())
    assert KEY not in stored and SECRET not in stored
    assert row.external_id == key_digest(KEY) and row.hint == KEY[-4:]
    assert row.credentials() == {"api_key": KEY, "api_secret": SECRET}


def test_recording_link_is_not_shown_after_it_expires(account):
    room = SameSurfRoom.objects.create(
        account=account, external_id="1:0", number="1", version=0
    )
    rec = SameSurfRecording.objects.create(
        account=account,
        external_id="1:0#0",
        room=room,
        index=0,
        thumbnail_link="https://x.test/t.png",
        thumbnail_expires_at=timezone.now() + timedelta(minutes=5),
        public_link="https://x.test/v",
        public_link_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert rec.link("thumbnail") == "https://x.test/t.png"
    assert rec.link("public_link") == ""
    assert rec.link("image") == ""


def test_key_rotation_re_encrypts_subscription_keys(account):
    from cryptography.fernet import Fernet
    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings

    sub = SameSurfSubscription.objects.create(
        account=account, external_id="Globex", name="Globex", license_count=3
    )
    SameSurfApiKey.build(sub, KEY, SECRET).save()
    before = SameSurfApiKey.objects.get().secret_encrypted
    new = Fernet.generate_key().decode()
    with override_settings(ENCRYPTION_KEYS=[new, *settings.ENCRYPTION_KEYS]):
        call_command("rotate_encryption_keys", stdout=io.StringIO())
    row = SameSurfApiKey.objects.get()
    assert row.secret_encrypted != before
    with override_settings(ENCRYPTION_KEYS=[new]):
        assert row.credentials() == {"api_key": KEY, "api_secret": SECRET}


def test_admin_lists_every_model_and_never_shows_a_key(account, client):
    from django.apps import apps
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    for model in apps.get_app_config("samesurf").get_models():
        assert admin.site.is_registered(model), model
    sub = SameSurfSubscription.objects.create(
        account=account, external_id="Globex", name="Globex", license_count=3
    )
    SameSurfApiKey.build(sub, KEY, SECRET).save()
    row = SameSurfApiKey.objects.get()
    user = get_user_model().objects.create_superuser("root", "r@x.test", "pw")
    client.force_login(user)
    for url in (
        reverse("admin:samesurf_samesurfapikey_changelist"),
        reverse("admin:samesurf_samesurfapikey_change", args=[row.pk]),
        reverse("admin:samesurf_samesurfroom_changelist"),
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        text = page.content.decode()
        assert SECRET not in text and KEY not in text
        assert row.secret_encrypted not in text
