"""Sessions (list, filter, create, get, end), a reseller's client sessions, and
screenshots."""

from __future__ import annotations

from datetime import timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from .. import lifecycle
from ..api import (
    NOT_RESELLER,
    invalid,
    not_found,
    read_json,
    respond,
    surfly_api,
)
from ..bodies import SCREENSHOT_CREATE, SESSION_CREATE
from ..models import Agent, Company, OptionSet, SandboxSession
from ..options import clean_options, complete
from ..params import common_filters, integer
from ..records import client_session_payload, created_payload, session_payload
from ..screenshots import screenshot_png

# Screenshots keep coming only while someone polls "latest"; after this long
# without a poll the sandbox considers the generation stopped.
SCREENSHOTS_IDLE = timedelta(seconds=60)


def _session(company: Company, key: str) -> SandboxSession:
    found = lifecycle.find_session(company, key)
    if found is None:
        raise not_found()
    return found


def _options_by_set(sessions: list[SandboxSession]) -> dict[int, dict]:
    """Decoded option sets of `sessions`, each set read and decoded once."""
    ids = {s.option_set_id for s in sessions}
    return {o.pk: o.options for o in OptionSet.objects.filter(pk__in=ids)}


def _filter_by_month(request: HttpRequest, qs):
    year, month = integer(request, "year"), integer(request, "month")
    if year is not None:
        qs = qs.filter(start_time__year=year)
    if month is not None:
        if not 1 <= month <= 12:
            raise invalid({"month": ["Ensure this value is between 1 and 12."]})
        qs = qs.filter(start_time__month=month)
    return qs


@surfly_api()
def list_sessions(request: HttpRequest, company: Company) -> HttpResponse:
    """GET /sessions/ (Sessions_getAll, Sessions_filter, and with `clientkey`
    Clients_listActiveSessionsForResellerClient).

    Not paginated, as documented; newest first. Filters: active_session,
    agent_id, year, month, pin, tags (comma-separated, any of them). Like
    Surfly's, an unfiltered list of a benchmark-sized seed is huge: every
    session with its full options; `/history/` is the paged way through.
    """
    client_key = request.GET.get("clientkey")
    if client_key:
        return _client_sessions(request, company, client_key)
    qs = common_filters(
        request, SandboxSession.objects.filter(company=company), numeric_pin=True
    )
    qs = _filter_by_month(request, qs).defer("record_json")
    sessions = list(qs.order_by("-start_time", "-id"))
    options = _options_by_set(sessions)
    return respond([session_payload(s, options[s.option_set_id]) for s in sessions])


def _client_sessions(request: HttpRequest, company: Company, client_key: str):
    """A reseller's view of one client's sessions (five fields each)."""
    if not company.is_reseller:
        return respond({"detail": NOT_RESELLER}, 403)
    client = Company.objects.filter(reseller=company, client_key=client_key).first()
    if client is None:
        raise not_found()
    qs = common_filters(
        request, SandboxSession.objects.filter(company=client), numeric_pin=True
    )
    qs = _filter_by_month(request, qs).order_by("-start_time", "-id")
    now = timezone.now()
    return respond([client_session_payload(s, now) for s in qs])


@surfly_api()
def create_session(request: HttpRequest, company: Company) -> HttpResponse:
    """POST /sessions/ (Sessions_generateNewSession).

    `url` is required; `tags`, `agent_id` and `skip_queue` are optional, and any
    session option in the body overrides the company's default for this session.
    Without an agent and without `skip_queue` the session is queued (it gets a
    PIN, and a `session.queued` event precedes `session.started`).
    """
    body = read_json(request)
    errors: dict[str, list[str]] = {}
    data = SESSION_CREATE.check(body, errors)
    options, option_errors = clean_options(body)
    errors.update(option_errors)
    if errors:
        raise invalid(errors)
    url, agent_id = data["url"], data.get("agent_id")
    skip_queue, tags = data.get("skip_queue", False), data.get("tags", [])
    if (
        agent_id is not None
        and not Agent.objects.filter(company=company, pk=agent_id).exists()
    ):
        raise invalid({"agent_id": ["Agent was not found"]})
    s = lifecycle.start_session(
        company,
        url=url,
        tags=tags,
        agent_id=agent_id,
        queued=agent_id is None and not skip_queue,
        options=complete({**company.options, **options}),
    )
    return respond(created_payload(s, s.option_set.options))


@surfly_api()
def get_session(request: HttpRequest, company: Company, key: str) -> HttpResponse:
    """GET /sessions/{ID}/ (Sessions_getById): raw `id`, `session_id` or the
    formatted id (123-123-123)."""
    s = _session(company, key)
    return respond(session_payload(s, s.option_set.options))


@surfly_api()
def end_session(request: HttpRequest, company: Company, key: str) -> HttpResponse:
    """POST /sessions/{ID}/end/ (Sessions_endById): sets `end_time` and
    `duration` and sends `session.ended`."""
    s = lifecycle.end_session(_session(company, key))
    return respond(session_payload(s, s.option_set.options))


@surfly_api()
def latest_screenshot(request: HttpRequest, company: Company, key: str) -> HttpResponse:
    """GET /sessions/{ID}/screenshots/latest/ (Screenshots_getLatest). Polling
    keeps the generation going; before any generation there is nothing (404)."""
    s = _session(company, key)
    if s.screenshots_started is None:
        raise not_found("No screenshot available.")
    if s.end_time is None:
        SandboxSession.objects.filter(pk=s.pk).update(
            screenshots_started=timezone.now()
        )
    # Surfly's URL is on its storage; the sandbox serves the image itself. The
    # `at` part changes with each new screenshot (every 30 s), as a new
    # object name would.
    image = reverse("surfly-sandbox-screenshot", args=[s.session_id])
    at = int(timezone.now().timestamp()) // 30 * 30
    return respond({"url": request.build_absolute_uri(f"{image}?at={at}")})


def screenshot_image(request: HttpRequest, session_id: str) -> HttpResponse:
    """The PNG "latest screenshot" points at. Like an object on Surfly's storage
    it needs no API key (its name is the unguessable session id), and only a
    session whose screenshots were started has one."""
    s = SandboxSession.objects.filter(
        session_id=session_id, screenshots_started__isnull=False
    ).first()
    if s is None:
        raise Http404("No such screenshot.")
    response = HttpResponse(screenshot_png(s.session_id), content_type="image/png")
    response["Cache-Control"] = "private, max-age=30"
    return response


@surfly_api()
def create_screenshot(request: HttpRequest, company: Company, key: str) -> HttpResponse:
    """POST /sessions/{ID}/screenshots/create/ (Screenshots_startGeneration).

    Answers `text/plain`. The spec's example is the word in double quotes
    (`"GENERATION-STARTED"`), so that is what is sent. An interval under 5 s
    is raised to 5 s (silently, as documented).
    """
    s = _session(company, key)
    SCREENSHOT_CREATE.read(request)
    now = timezone.now()
    if s.end_time is not None:
        state = "FAILED-INTERNALLY"
    elif s.screenshots_started and now - s.screenshots_started < SCREENSHOTS_IDLE:
        state = "ALREADY-RUNNING"
    else:
        state = "GENERATION-STARTED"
        SandboxSession.objects.filter(pk=s.pk).update(screenshots_started=now)
    return HttpResponse(f'"{state}"', content_type="text/plain")
