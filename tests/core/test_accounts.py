"""Vendor account pages: add, edit, disable, delete, test connection, sync now."""

from __future__ import annotations

import json

import pytest
import responses
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from responses import matchers

from cobrowse_portal.core import tasks
from cobrowse_portal.core.choices import RunStatus, Trigger
from cobrowse_portal.core.models import SyncRun, VendorAccount
from cobrowse_portal.vendorkit import registry

from .conftest import OTHER_SECRET, SECRET, SURFLY_URL, make_account

OPTIONS_URL = f"{SURFLY_URL}/company/options/"
STREAMS = [s.name for s in registry.get("surfly").streams]


@pytest.fixture
def admin(personas, client):
    client.force_login(personas["admin"])
    return client


def form_data(**overrides) -> dict:
    return {
        "vendor": "surfly",
        "name": "Support desk",
        "base_url": SURFLY_URL,
        "enabled": "on",
        "cred_api_key": "sfk-fresh-key-000111",
        **overrides,
    }


# --- add ------------------------------------------------------------------------------
def assert_stored(account, *, workspace, name, key, base_url=SURFLY_URL) -> None:
    """The row as the form should have stored it, read back from the database."""
    fresh = VendorAccount.objects.get(pk=account.pk)
    assert (fresh.workspace_id, fresh.vendor, fresh.name, fresh.base_url) == (
        workspace.pk,
        "surfly",
        name,
        base_url,
    )
    assert fresh.enabled
    assert fresh.credentials == {"api_key": key}  # decrypts to what was typed
    assert fresh.credentials_encrypted and key not in fresh.credentials_encrypted
    tasks = {
        t.name: t
        for t in PeriodicTask.objects.filter(name__startswith=f"account-{fresh.pk}-")
    }
    spec = registry.get("surfly")
    assert set(tasks) == {f"account-{fresh.pk}-{s.name}" for s in spec.streams}
    for stream in spec.streams:
        task = tasks[f"account-{fresh.pk}-{stream.name}"]
        assert task.enabled and task.task == "core.run_stream"
        assert json.loads(task.kwargs) == {
            "account_id": fresh.pk,
            "stream": stream.name,
        }
        assert task.interval.every == stream.every


def test_add_account_flow(admin, reseller):
    picker = admin.get(reverse("core:account_add"))
    assert picker.status_code == 200 and "?vendor=surfly" in picker.content.decode()
    form = admin.get(reverse("core:account_add"), {"vendor": "surfly"}).content.decode()
    assert 'name="cred_api_key"' in form and "https://surfly.com/v2" in form
    response = admin.post(
        reverse("core:account_add"), form_data(base_url=SURFLY_URL + "/")
    )
    account = VendorAccount.objects.get(workspace=reseller, name="Support desk")
    assert response.status_code == 302
    assert response["Location"] == reverse("core:account_detail", args=[account.pk])
    assert (
        account.vendor == "surfly" and account.base_url == SURFLY_URL
    )  # slash trimmed
    assert account.credentials == {"api_key": "sfk-fresh-key-000111"}
    assert PeriodicTask.objects.filter(
        name__startswith=f"account-{account.pk}-"
    ).count() == len(STREAMS)
    assert_stored(
        account, workspace=reseller, name="Support desk", key="sfk-fresh-key-000111"
    )
    detail = admin.get(response["Location"]).content.decode()
    assert "Added Surfly: Support desk" in detail


def test_blank_base_url_means_the_vendors_public_url(admin, reseller):
    admin.post(reverse("core:account_add"), form_data(base_url=""))
    assert (
        VendorAccount.objects.get(name="Support desk").base_url
        == "https://surfly.com/v2"
    )


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"cred_api_key": ""}, "cred_api_key", "This field is required."),
        ({"name": ""}, "name", "This field is required."),
        ({"name": "x" * 500}, "name", "at most 120 characters"),
        ({"base_url": "not a url at all"}, "base_url", "Enter a valid URL."),
        (
            {"name": "Zebracorn Reseller Desk"},
            "name",
            "already has an account by that name",
        ),
    ],
    ids=["no-key", "no-name", "long-name", "bad-url", "duplicate"],
)
def test_add_form_errors_are_shown_next_to_the_field(
    admin, portal, overrides, field, error
):
    before = VendorAccount.objects.count()
    response = admin.post(reverse("core:account_add"), form_data(**overrides))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert field in response.context["form"].errors
    assert VendorAccount.objects.count() == before


def test_same_name_is_fine_in_another_workspace(admin, portal):
    # The outsider's account is "Initech Helpdesk"; names are unique per workspace.
    response = admin.post(
        reverse("core:account_add"), form_data(name="Initech Helpdesk")
    )
    assert response.status_code == 302
    account = VendorAccount.objects.get(
        workspace=portal.reseller, vendor="surfly", name="Initech Helpdesk"
    )
    assert response["Location"] == reverse("core:account_detail", args=[account.pk])
    assert_stored(
        account,
        workspace=portal.reseller,
        name="Initech Helpdesk",
        key="sfk-fresh-key-000111",
    )
    # The outsider's namesake is untouched.
    theirs = VendorAccount.objects.get(pk=portal.other_account.pk)
    assert theirs.workspace == portal.other_workspace and theirs.pk != account.pk
    assert theirs.credentials == {"api_key": OTHER_SECRET}


def test_unknown_vendor_shows_the_picker(admin, db):
    response = admin.post(reverse("core:account_add"), form_data(vendor="nope"))
    assert response.status_code == 200 and "Which vendor?" in response.content.decode()


@pytest.mark.parametrize("who", ["manager", "agent"])
def test_only_admins_add_edit_and_delete(portal, client, who):
    client.force_login(portal.personas[who])
    pk = portal.account.pk
    assert client.post(reverse("core:account_add"), form_data()).status_code == 403
    assert (
        client.post(reverse("core:account_edit", args=[pk]), form_data()).status_code
        == 403
    )
    assert client.post(reverse("core:account_delete", args=[pk])).status_code == 403
    assert client.post(reverse("core:account_toggle", args=[pk])).status_code == 403
    assert VendorAccount.objects.filter(pk=pk, enabled=True).exists()


# --- edit, disable, delete ------------------------------------------------------------
def test_edit_account(admin, portal):
    url = reverse("core:account_edit", args=[portal.account.pk])
    page = admin.get(url).content.decode()
    assert 'value="Zebracorn Reseller Desk"' in page
    response = admin.post(
        url,
        form_data(name="Renamed", cred_api_key="", base_url="http://127.0.0.1:9/v2/"),
    )
    assert response.status_code == 302
    account = VendorAccount.objects.get(pk=portal.account.pk)
    assert account.name == "Renamed" and account.base_url == "http://127.0.0.1:9/v2"
    assert account.credentials == {"api_key": SECRET}


def test_disable_and_enable_account(admin, portal):
    url = reverse("core:account_toggle", args=[portal.account.pk])
    tasks_of = PeriodicTask.objects.filter(
        name__startswith=f"account-{portal.account.pk}-"
    )
    assert admin.get(url).status_code == 405
    response = admin.post(url, follow=True)
    assert "disabled; syncs stopped" in response.content.decode()
    assert not VendorAccount.objects.get(pk=portal.account.pk).enabled
    assert not tasks_of.exists()
    admin.post(url)
    assert VendorAccount.objects.get(pk=portal.account.pk).enabled
    assert tasks_of.count() == len(STREAMS)


def test_delete_account(admin, portal):
    pk = portal.account.pk
    url = reverse("core:account_delete", args=[pk])
    confirm = admin.get(url)
    assert confirm.status_code == 200 and "Delete" in confirm.content.decode()
    assert VendorAccount.objects.filter(pk=pk).exists()  # GET deletes nothing
    response = admin.post(url)
    assert response.status_code == 302 and response["Location"] == reverse(
        "core:account_list"
    )
    assert not VendorAccount.objects.filter(pk=pk).exists()
    assert not SyncRun.objects.filter(account_id=pk).exists()
    assert not PeriodicTask.objects.filter(name__startswith=f"account-{pk}-").exists()
    assert VendorAccount.objects.filter(pk=portal.other_account.pk).exists()


def test_account_list_shows_only_the_workspace(admin, portal):
    page = admin.get(reverse("core:account_list")).content.decode()
    assert "Zebracorn Reseller Desk" in page and "Initech" not in page


# --- test connection ------------------------------------------------------------------
def fake_options(mock, key: str, *, status=200, json=None):
    mock.add(
        responses.GET,
        OPTIONS_URL,
        match=[matchers.query_param_matcher({"api_key": key})],
        status=status,
        json=json if json is not None else {"option_a": True, "option_b": 1},
    )


@responses.activate
def test_test_connection_new_form_bad_key_shows_the_vendor_error(admin, db):
    fake_options(
        responses, "bad-key-123456", status=401, json={"detail": "Invalid API key."}
    )
    response = admin.post(
        reverse("core:account_test_new"), form_data(cred_api_key="bad-key-123456")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="test fail"' in html and "Invalid API key." in html
    assert "bad-key-123456" not in html
    assert not VendorAccount.objects.exists()  # testing saves nothing


@responses.activate
def test_test_connection_new_form_good_key(admin, db):
    fake_options(responses, "good-key-123456")
    html = admin.post(
        reverse("core:account_test_new"), form_data(cred_api_key="good-key-123456")
    ).content.decode()
    assert 'class="test ok"' in html and "REST key accepted" in html


@responses.activate
def test_test_connection_without_a_json_error_body(admin, db):
    responses.add(responses.GET, OPTIONS_URL, status=404, body="")
    html = admin.post(reverse("core:account_test_new"), form_data()).content.decode()
    assert 'class="test fail"' in html and "surfly answered 404" in html


@responses.activate
def test_test_connection_saved_account(admin, portal):
    fake_options(responses, SECRET)
    url = reverse("core:account_test", args=[portal.account.pk])
    assert 'class="test ok"' in admin.post(url).content.decode()
    # From the edit form with the key left blank: the stored key is used.
    html = admin.post(url, form_data(name=portal.account.name, cred_api_key=""))
    assert 'class="test ok"' in html.content.decode()
    assert len(responses.calls) == 2


@responses.activate
def test_test_connection_saved_account_rejected(admin, portal):
    fake_options(responses, SECRET, status=401, json={"detail": "Invalid API key."})
    url = reverse("core:account_test", args=[portal.account.pk])
    html = admin.post(url).content.decode()
    assert 'class="test fail"' in html and "Invalid API key." in html
    assert SECRET not in html


@responses.activate
def test_test_connection_asks_for_missing_values_before_calling(admin, db):
    html = admin.post(
        reverse("core:account_test_new"), form_data(cred_api_key="")
    ).content.decode()
    assert "Fill in REST API key first." in html
    html = admin.post(
        reverse("core:account_test_new"), form_data(vendor="")
    ).content.decode()
    assert "Pick a vendor first." in html
    assert len(responses.calls) == 0


@responses.activate
def test_test_connection_with_a_bad_base_url_never_falls_back_to_the_live_vendor(
    admin, db
):
    """A typo in a sandbox URL must not send the key to the vendor's public API."""
    html = admin.post(
        reverse("core:account_test_new"), form_data(base_url="http//typo")
    ).content.decode()
    assert 'class="test fail"' in html and "valid URL" in html
    assert len(responses.calls) == 0


def test_test_connection_unreachable_host_is_a_readable_error(admin, db):
    with responses.RequestsMock():  # nothing registered: connection refused
        html = admin.post(
            reverse("core:account_test_new"), form_data()
        ).content.decode()
    assert 'class="test fail"' in html and "could not connect to surfly" in html
    assert "Connection refused" not in html  # never the library's own text


@pytest.mark.parametrize("who", ["manager", "agent"])
def test_only_admins_test_connections(portal, client, who):
    client.force_login(portal.personas[who])
    assert client.post(reverse("core:account_test_new"), form_data()).status_code == 403
    url = reverse("core:account_test", args=[portal.account.pk])
    assert client.post(url).status_code == 403


# --- sync now -------------------------------------------------------------------------
def test_sync_now_returns_a_polling_progress_fragment(
    portal, client, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        tasks.run_stream,
        "apply_async",
        lambda args, **options: sent.append((args, options.get("queue"))),
    )
    client.force_login(portal.personas["manager"])
    url = reverse("core:account_sync", args=[portal.account.pk])
    assert client.get(url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    runs = list(SyncRun.objects.filter(account=portal.account, trigger=Trigger.MANUAL))
    assert sorted(r.stream for r in runs) == sorted(STREAMS)
    assert all(r.status == RunStatus.QUEUED for r in runs)
    ids = ",".join(str(r.pk) for r in sorted(runs, key=lambda r: r.pk))
    progress = reverse("core:sync_progress", args=[portal.account.pk])
    assert f'hx-get="{progress}?ids={ids}"' in html and 'hx-trigger="every 1s"' in html
    # Tasks are sent after commit, one per stream, with ids only, each to its
    # stream's queue (the live stream to the live worker).
    assert sorted(sent) == sorted(
        (
            (portal.account.pk, r.stream, Trigger.MANUAL, r.pk),
            "live" if r.stream == "live" else "celery",
        )
        for r in runs
    )

    polling = client.get(progress, {"ids": ids})
    assert polling.status_code == 200 and "hx-trigger" in polling.content.decode()
    SyncRun.objects.filter(pk__in=[r.pk for r in runs[:-1]]).update(
        status=RunStatus.SUCCEEDED
    )
    assert client.get(progress, {"ids": ids}).status_code == 200  # one still queued
    SyncRun.objects.filter(pk=runs[-1].pk).update(
        status=RunStatus.FAILED, error="surfly answered 500"
    )
    done = client.get(progress, {"ids": ids})
    assert done.status_code == 286  # htmx stops polling
    html = done.content.decode()
    assert "Sync finished" in html and "hx-get" not in html
    assert "surfly answered 500" in html


def test_sync_progress_only_shows_runs_of_that_account(portal, client):
    client.force_login(portal.personas["manager"])
    progress = reverse("core:sync_progress", args=[portal.account.pk])
    html = client.get(progress, {"ids": str(portal.other_run.pk)}).content.decode()
    assert f"/runs/{portal.other_run.pk}/" not in html


def test_sync_now_on_a_disabled_account_says_so(portal, client):
    VendorAccount.objects.filter(pk=portal.account.pk).update(enabled=False)
    client.force_login(portal.personas["manager"])
    before = SyncRun.objects.count()
    response = client.post(
        reverse("core:account_sync", args=[portal.account.pk]), follow=True
    )
    assert "Enable the account before syncing it." in response.content.decode()
    assert SyncRun.objects.count() == before


def test_agents_cannot_sync(portal, client):
    client.force_login(portal.personas["agent"])
    assert (
        client.post(reverse("core:account_sync", args=[portal.account.pk])).status_code
        == 403
    )


def test_detail_shows_webhook_url_to_admins_only(portal, client):
    url = reverse("core:account_detail", args=[portal.account.pk])
    client.force_login(portal.personas["admin"])
    assert portal.account.webhook_token in client.get(url).content.decode()
    client.force_login(portal.personas["manager"])
    assert portal.account.webhook_token not in client.get(url).content.decode()


def test_account_created_in_code_gets_a_token_and_schedules(reseller):
    account = make_account(reseller, "Coded")
    assert len(account.webhook_token) >= 40
    assert PeriodicTask.objects.filter(
        name__startswith=f"account-{account.pk}-"
    ).count() == len(STREAMS)
