"""Deterministic Upscope sandbox data: `seed(size, seed)` always yields the same
accounts, visitors, agents and `size` past sessions.

Accounts (keys are demo values):
- `sandbox-upscope-key-0001` Acme Support: the main account, `size` sessions
  over the last ~6 months (ids s_1 … in start order), two running now, visitors
  (a few always online, a few never), users and external agents;
- `sandbox-upscope-key-0002` Globex: a small second account;
- `sandbox-upscope-full-key-0001`: a plan with no session left (watch URL and
  on-premise token answer 402);
- one account in each documented 401 state (`no_subscription`,
  `api_not_enabled`, `please_contact_team`).
Times count back from the start of the current hour, so only their anchor
moves between runs. Rows are bulk-inserted in batches inside one transaction on
the `sandbox` alias (100,000 sessions in seconds).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import connections, transaction
from django.utils import timezone

from cobrowse_portal.vendorkit.bulk import converters, write_rows
from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from .models import Account, Agent, CobrowsingSession, Visitor

MAIN_KEY = "sandbox-upscope-key-0001"
SECOND_KEY = "sandbox-upscope-key-0002"
FULL_KEY = "sandbox-upscope-full-key-0001"
STATE_KEYS = {
    "no_subscription": "sandbox-upscope-no-subscription-0001",
    "api_not_enabled": "sandbox-upscope-api-not-enabled-0001",
    "please_contact_team": "sandbox-upscope-contact-team-0001",
}
MAIN_NAME = "Acme Support (sandbox)"
BATCH = 5000
HISTORY_DAYS = 182

FIRST = ["Ana", "Sam", "Jo", "Kim", "Lee", "Ravi", "Mia", "Tom", "Zoe", "Omar"]
LAST = ["Lima", "Patel", "Chen", "Berg", "Ortiz", "Novak", "Okafor", "Rossi"]
TAGS = ["#VIP", "#TRIAL", "#CHECKOUT", "#PRO-PLAN", "#RETURNING"]
INTEGRATIONS = ["intercom", "zendesk", "hubspot"]
URLS = [
    "https://shop.example.com/checkout",
    "https://www.example.com/pricing",
    "https://app.example.com/settings/billing",
    "https://help.example.com/articles/reset-password",
    "https://app.example.com/onboarding",
]
PLACES = [
    ("London", "GB", "United Kingdom"),
    ("Dublin", "IE", "Ireland"),
    ("New York", "US", "United States"),
    ("Toronto", "CA", "Canada"),
    ("Berlin", "DE", "Germany"),
    ("", "", ""),
]
BROWSERS = [
    ("Chrome", "Macintosh", "desktop"),
    ("Firefox", "Windows PC", "desktop"),
    ("Safari", "iPhone", "mobile"),
    ("Chrome", "Android", "mobile"),
    ("Safari", "iPad", "tablet"),
]
FEATURES = ["scroll", "click", "draw", "type", "audio", "notes"]
#: name, e-mail (a user) or external id (an external agent).
AGENTS = [
    ("Alice Agent", "alice@acme.test", ""),
    ("Bob Agent", "bob@acme.test", ""),
    ("Carol Agent", "carol@acme.test", ""),
    ("Dan Agent", "dan@acme.test", ""),
    ("Erin External", "", "ext-erin"),
    ("Frank External", "", "ext-frank"),
]
#: Visitors every seed starts with (tests and the demo rely on them):
#: short_id, name, e-mail, unique id, tags, integration ids, ip, lookup code,
#: (cycle, online minutes); cycle == online minutes: always online; 0: never.
FIXED = [
    (
        "v0001",
        "Ana Lima",
        "ana.lima@example.com",
        "cust-0001",
        ["#VIP", "#CHECKOUT"],
        ["intercom:1001"],
        "203.0.113.10",
        "1234",
        (60, 60),
    ),
    (
        "v0002",
        "Sam Patel",
        "sam.patel@example.org",
        "cust-0002",
        ["#TRIAL"],
        ["zendesk:2002"],
        "203.0.113.11",
        "2345",
        (60, 60),
    ),
    (
        "v0003",
        "Jo Chen",
        "jo.chen@example.net",
        "cust-0003",
        ["#VIP"],
        [],
        "203.0.113.12",
        "3456",
        (60, 0),
    ),
    ("v0004", "", "", "", [], [], "198.51.100.7", "4567", (60, 0)),
]


def seed(size: int, seed: int = 1, reset: bool = False) -> str:
    """Fill the sandbox; a no-op when data exists, unless `reset`."""
    if Account.objects.exists() and not reset:
        return f"already seeded ({summary()}); use --reset to start over"
    rng = random.Random(seed)
    anchor = timezone.now().replace(minute=0, second=0, microsecond=0)
    with transaction.atomic(using=ALIAS):
        if reset:
            CobrowsingSession.objects.all().delete()
            Visitor.objects.all().delete()
            Agent.objects.all().delete()
            Account.objects.all().delete()
        main = _account(MAIN_KEY, MAIN_NAME, 1001, "acme.test", session_limit=25)
        _fill(rng, main, size, max(60, min(size // 5, 20_000)), anchor, running=2)
        second = _account(SECOND_KEY, "Globex (sandbox)", 1002, "globex.test")
        _fill(rng, second, max(10, size // 20), 30, anchor, running=1)
        full = _account(FULL_KEY, "Initech (plan full)", 1003, "initech.test")
        full.session_limit = 0
        full.save(update_fields=["session_limit"])
        _fill(rng, full, 10, 10, anchor, running=0)
        for i, (state, key) in enumerate(STATE_KEYS.items()):
            _account(key, f"Blocked: {state}", 1100 + i, f"{state}.test", state=state)
    return summary()


def summary() -> str:
    return (
        f"{Account.objects.count()} accounts, {Visitor.objects.count()} visitors, "
        f"{CobrowsingSession.objects.count()} sessions"
    )


def _account(key, name, team, domain, *, state="ok", session_limit=5) -> Account:
    return Account.objects.create(
        name=name,
        api_key=key,
        public_key=f"pk{team:06d}",
        team_id=team,
        domain=domain,
        state=state,
        session_limit=session_limit,
    )


def _visitor(account, rng, anchor, i, fixed=None) -> Visitor:
    browser, device, kind = rng.choice(BROWSERS)
    city, country, country_name = rng.choice(PLACES)
    url = rng.choice(URLS)
    added = anchor - timedelta(minutes=rng.randrange(60, 60 * 24 * 60))
    if fixed:
        short_id, name, email, uid, tags, integrations, ip, code, (cycle, on) = fixed
        phase = 0
    else:
        short_id = f"{rng.getrandbits(40):010x}"
        identified = rng.random() < 0.6
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}" if identified else ""
        email = (
            f"{name.lower().replace(' ', '.')}{i}@example.com"
            if identified and rng.random() < 0.8
            else ""
        )
        uid = f"cust-{i + 1:04d}" if identified else ""
        tags = sorted(set(rng.sample(TAGS, rng.randrange(0, 3))))
        integrations = (
            [f"{rng.choice(INTEGRATIONS)}:{rng.randrange(10_000, 99_999)}"]
            if rng.random() < 0.3
            else []
        )
        ip = f"198.51.100.{rng.randrange(1, 255)}"
        code = f"{rng.randrange(5000, 10_000)}"
        cycle = rng.randrange(30, 1440)
        on = 0 if rng.random() < 0.3 else rng.randrange(5, max(6, cycle // 3))
        phase = rng.randrange(0, cycle)
    identities = [x for x in (name, email) if x]
    words = " ".join(
        [name, email, uid, short_id, ip, url, city, country_name, browser, device]
    )
    return Visitor(
        account=account,
        short_id=short_id,
        unique_id=uid,
        email=email,
        call_name=name,
        identities=identities,
        tags=tags,
        integration_ids=integrations,
        tokens_text=" "
        + " ".join(x.lower() for x in [*identities, *tags, *integrations])
        + " ",
        search_text=" ".join(words.lower().split()),
        lookup_code=code,
        ip_address=ip,
        integration=integrations[0].split(":")[0] if integrations else "",
        browser_name=browser,
        device_name=device,
        device_type=kind,
        location_city=city,
        location_country=country,
        location_country_name=country_name,
        last_url=url,
        added_at=added,
        cycle_minutes=cycle,
        phase_minutes=phase,
        online_minutes=on,
    )


def _insert(model, rows: list) -> None:
    """Insert unsaved instances, or dicts of column values, by vendorkit's bulk
    writer (SQLite multi-row VALUES, PostgreSQL COPY): at 100,000 sessions Django's
    bulk_create and model instances cost most of the time."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    convert = converters(fields, connections[ALIAS])
    spec = [(f.attname, f.get_default()) for f in fields]
    for start in range(0, len(rows), BATCH):
        values = []
        for row in rows[start : start + BATCH]:
            if isinstance(row, dict):
                value = [row.get(a, d) for a, d in spec]
            else:
                value = [getattr(row, a) for a, _ in spec]
            for i, c in enumerate(convert):
                if c is not None:
                    value[i] = c(value[i])
            values.append(value)
        write_rows(model, fields, values)


def _fill(rng, account, sessions: int, visitors: int, anchor, *, running: int) -> None:
    people = [
        _visitor(account, rng, anchor, i, FIXED[i] if i < len(FIXED) else None)
        for i in range(visitors)
    ]
    _insert(Visitor, people)
    agents = []
    for name, email, external in AGENTS:
        prefix = "ea" if external else "u"
        agents.append(
            Agent(
                account=account,
                agent_id=f"{prefix}_{rng.getrandbits(32):08x}",
                name=name,
                email=email,
                external_id=external,
            )
        )
    Agent.objects.bulk_create(agents)
    answered = [
        {
            "id": a.agent_id,
            "name": a.name,
            "agent_identifier": a.external_id or None,
            "_type": "external_agent" if a.external_id else "user",
        }
        for a in agents
    ]
    span = HISTORY_DAYS * 24 * 3600
    batch: list = []
    ids = [v.short_id for v in people]
    for i in range(sessions):
        started = anchor - timedelta(
            seconds=int(span * (sessions - i - rng.random()) / sessions) + 3600
        )
        ended = started + timedelta(seconds=rng.randrange(30, 3600))
        agent = answered[rng.randrange(len(answered))]
        batch.append(
            {
                "account_id": account.pk,
                "number": i + 1,
                "visitor_short_id": ids[rng.randrange(len(ids))],
                "started_at": started,
                "ends_at": ended,
                "ended_at": ended,
                "updated_at": ended,
                "went_live": rng.random() < 0.9,
                "call_length_seconds": rng.choice((0, 0, 0, rng.randrange(10, 600))),
                "features_used": rng.sample(FEATURES, rng.randrange(0, 4)),
                "agents": [agent],
                "agent_ids": f" {agent['id']} ",
                "metadata": {"ticket": f"T-{rng.randrange(1000, 9999)}"}
                if rng.random() < 0.3
                else {},
            }
        )
        if len(batch) >= BATCH:
            _insert(CobrowsingSession, batch)
            batch = []
    for j in range(running):
        # Always-online visitors, started minutes ago, ending within the day.
        agent = answered[j % len(answered)]
        started = anchor - timedelta(minutes=5 + 7 * (running - 1 - j))  # in order
        batch.append(
            CobrowsingSession(
                account=account,
                number=sessions + j + 1,
                visitor_short_id=ids[j],
                started_at=started,
                ends_at=anchor + timedelta(hours=12),
                updated_at=started,
                agents=[agent],
                agent_ids=f" {agent['id']} ",
                features_used=["scroll"],
            )
        )
    _insert(CobrowsingSession, batch)
    Account.objects.filter(pk=account.pk).update(next_session=sessions + running + 1)
