"""Deterministic sandbox data: `seed(size, seed)` always yields the same ids.

The reseller (key `sandbox-surfly-reseller-key-0001`) gets six agents, three
live sessions and `size` history records over the last ~6 months, two
webhooks (one switched off, as Surfly does after failed deliveries) and a few
option changes. Its clients include `sandbox-surfly-client-key-0001` with its
own agents, live sessions and history. Timestamps count back from the start of
the current hour, so only their anchor moves between runs.

100,000 records take about 20 s on SQLite: rows are built in memory and
bulk-inserted in batches inside one transaction on the `sandbox` alias.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from django.core.management.color import no_style
from django.db import connections, transaction
from django.db.models import Max
from django.utils import timezone

from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from .models import Agent, Company, OptionSet, SandboxSession, Webhook
from .options import DEFAULT_OPTIONS, complete
from .params import tags_text
from .records import (
    SERVER_HOSTS,
    dump_record,
    hex_key,
    history_record,
    session_ids,
    token,
)

RESELLER_KEY = "sandbox-surfly-reseller-key-0001"
# Globex's REST key (its `api_key`, Surfly's `rest_key`), not its `client_key`.
CLIENT_KEY = "sandbox-surfly-client-key-0001"
BATCH = 5000
HISTORY_DAYS = 182

TAGS = ["support", "sales", "onboarding", "billing", "vip", "mobile", "returns"]
URLS = [
    "https://shop.example.com/checkout",
    "https://shop.example.com/cart",
    "https://www.example.com/pricing",
    "https://app.example.com/settings/billing",
    "https://help.example.com/articles/reset-password",
    "https://www.example.org/insurance/quote",
]
META = [
    {},
    {"customer_id": "C-10423", "plan": "gold"},
    {"name": "Ana Lima", "email": "ana@example.net"},
    {"order": "SO-88213", "channel": "phone"},
    {"ticket": 48122},
]
AGENTS = [
    ("Peter Pan", "peter@neverland.example", "admin", True, True),
    ("Wendy Darling", "wendy@neverland.example", "manager", True, True),
    ("John Darling", "john@neverland.example", "agent", True, False),
    ("Tinker Bell", "tink@neverland.example", "agent", False, True),
    ("Tiger Lily", "lily@neverland.example", "agent", True, True),
    ("James Hook", "hook@neverland.example", "agent", False, False),
]  # name, email, role, available, online
CLIENTS = [
    # company pk, name, plan, api key (None: random), agents, live, history %, domains
    (94907, "Globex Corporation", "pro", CLIENT_KEY, 3, 2, 5,
     "globex.example, *.globex.example"),
    (94908, "Initech", "free", None, 1, 0, 1, "*"),
    (94909, "Umbrella Health", "client_enterprise", None, 2, 1, 2, "umbrella.example"),
]  # fmt: skip
CLIENT_STAFF = [("Ada", "admin"), ("Grace", "agent"), ("Linus", "agent")]
RESELLER_ID = 94906
OPTION_VARIANTS = [
    {},
    {"start_with_chat_open": True, "theme_font_background": "#0055aa"},
    {"videochat": False, "hide_cursors": True},
    {"private_session": True, "audit_logs_enabled": True, "language": "nl"},
]


def seed(size: int, seed: int = 1, reset: bool = False) -> str:
    """Fill the sandbox; a no-op when data exists, unless `reset`."""
    if Company.objects.exists() and not reset:
        return (
            f"already seeded ({Company.objects.count()} companies, "
            f"{SandboxSession.objects.count()} sessions; {keys_summary()}); "
            "use --reset to start over"
        )
    rng = random.Random(seed)
    anchor = timezone.now().replace(minute=0, second=0, microsecond=0)
    with transaction.atomic(using=ALIAS):
        if reset:
            _wipe()
        sets = _option_sets()
        reseller = _company(
            rng, anchor, RESELLER_ID, "Neverland Support (sandbox)", "pro",
            RESELLER_KEY, None, "neverland.example, *.neverland.example",
        )  # fmt: skip
        reseller.options = complete(OPTION_VARIANTS[1])
        reseller.save(update_fields=["options"])
        next_agent = _agents(rng, reseller, AGENTS, 1, anchor)
        counts = [_sessions(rng, reseller, size, 3, sets, anchor)]
        _webhooks(reseller)
        for pk, name, plan, key, n_agents, live, share, domains in CLIENTS:
            key = key or hex_key(rng)
            client = _company(rng, anchor, pk, name, plan, key, reseller, domains)
            word = name.split()[0]
            staff = [
                (f"{first} {word}", f"{first.lower()}@{word.lower()}.example", role,
                 True, i % 2 == 0)
                for i, (first, role) in enumerate(CLIENT_STAFF[:n_agents])
            ]  # fmt: skip
            next_agent = _agents(rng, client, staff, next_agent, anchor)
            history = max(5, size * share // 100)
            counts.append(_sessions(rng, client, history, live, sets, anchor))
        _reset_sequences()
    return (
        f"seeded {Company.objects.count()} companies, {Agent.objects.count()} agents, "
        f"{sum(counts)} sessions (seed {seed}); {keys_summary()}"
    )


def keys_summary() -> str:
    """The demo's keys, each under its own name: the reseller's REST key, and
    its client Globex's REST key (what the client workspace's account uses)
    and client key (what the reseller's /clients/all/{client_key}/ calls use)."""
    globex = Company.objects.filter(api_key=CLIENT_KEY).first()
    client_key = f", client key {globex.client_key}" if globex else ""
    return (
        f"reseller REST key {RESELLER_KEY}; "
        f"{CLIENTS[0][1]}: REST key {CLIENT_KEY}{client_key}"
    )


def append_history(company: Company, count: int, seed: int = 2) -> int:
    """Add `count` ended sessions newer than any the company has (benchmarks:
    "new records at the vendor" for an incremental sync)."""
    rng = random.Random(seed)
    now = timezone.now()
    latest = company.sessions.aggregate(latest=Max("start_time"))["latest"]
    latest = min(latest or now - timedelta(days=1), now - timedelta(seconds=1))
    span = (now - latest).total_seconds()
    agent_ids = list(company.agents.values_list("pk", flat=True))
    taken = set(company.sessions.values_list("formatted_id", flat=True))
    sets = _option_sets()
    rows = []
    for n in range(count):
        start = latest + timedelta(seconds=span * (n + 1) / (count + 1))
        rows.append(_session(rng, company, agent_ids, sets, start, False, taken))
    with transaction.atomic(using=ALIAS):
        SandboxSession.objects.bulk_create(rows, batch_size=BATCH)
    return count


def _option_sets() -> list[OptionSet]:
    return [OptionSet.for_options(complete(variant)) for variant in OPTION_VARIANTS]


def _wipe() -> None:
    # Children first; each is a single DELETE (no per-row cascade collection).
    for model in (SandboxSession, Webhook, Agent):
        model.objects.all().delete()
    Company.objects.filter(reseller__isnull=False).delete()
    Company.objects.all().delete()
    OptionSet.objects.all().delete()


def _company(rng, anchor, pk, name, plan, api_key, reseller, domains) -> Company:
    return Company.objects.create(
        pk=pk,
        api_key=api_key,
        name=name,
        plan=plan,
        is_reseller=reseller is None,
        reseller=reseller,
        client_key=token(rng, 23),
        widget_key=hex_key(rng),
        domains=domains,
        agent_limit=25 if reseller is None else 10,
        options=dict(DEFAULT_OPTIONS),
        created_at=anchor - timedelta(days=400 + rng.randrange(300)),
    )


def _agents(rng, company, people, first_id: int, anchor: datetime) -> int:
    rows = [
        Agent(
            pk=first_id + i,
            company=company,
            name=name,
            email=email,
            password="",
            role=role,
            available=available,
            online=online,
            last_login=anchor - timedelta(minutes=rng.randrange(5, 60 * 24 * 20)),
        )
        for i, (name, email, role, available, online) in enumerate(people)
    ]
    Agent.objects.bulk_create(rows)
    return first_id + len(rows)


def _sessions(rng, company, history: int, live: int, sets, anchor) -> int:
    """`live` running sessions, then `history` ended ones over ~6 months."""
    agent_ids = list(Agent.objects.filter(company=company).values_list("pk", flat=True))
    formatted: set[str] = set()
    live_pins: set[str] = set()
    batch: list[SandboxSession] = []
    for n in range(history + live):
        is_live = n < live
        if is_live:
            start = anchor - timedelta(seconds=rng.randrange(60, 1800))
        else:
            start = anchor - timedelta(
                seconds=rng.randrange(3600, HISTORY_DAYS * 86400),
                microseconds=rng.randrange(10**6),
            )
        s = _session(rng, company, agent_ids, sets, start, is_live, formatted)
        if is_live and s.pin:  # PINs are unique among active sessions
            if s.pin in live_pins:
                s.pin, s.queue_id, s.queued, s.waiting_time = None, 0, False, None
                s.record_json = dump_record(history_record(s))
            if s.pin:
                live_pins.add(s.pin)
        batch.append(s)
        if len(batch) >= BATCH:
            SandboxSession.objects.bulk_create(batch)
            batch = []
    SandboxSession.objects.bulk_create(batch)
    return history + live


def _session(
    rng, company, agent_ids, sets, start, is_live, formatted
) -> SandboxSession:
    raw_id, session_id, formatted_id = session_ids(rng)
    while formatted_id in formatted:  # unique within the company
        raw_id, session_id, formatted_id = session_ids(rng)
    formatted.add(formatted_id)
    if is_live:
        duration = end = None
        agent = rng.choice(agent_ids) if agent_ids else None
    else:
        # Mostly a few minutes, some very short (abandoned), a few long ones.
        duration = int(rng.choice((rng.uniform(3, 60), rng.lognormvariate(6, 0.8))))
        end = start + timedelta(seconds=duration)
        agent = rng.choice(agent_ids) if agent_ids and rng.random() < 0.85 else None
    pin = f"{rng.randrange(1000, 10000)}" if rng.random() < 0.4 else None
    tags = sorted(rng.sample(TAGS, rng.choice((0, 1, 1, 2))))
    participants = rng.choice((1, 2, 2, 2, 3, 4))
    s = SandboxSession(
        company=company,
        raw_id=raw_id,
        session_id=session_id,
        formatted_id=formatted_id,
        agent_id=agent,
        follower_link=f"https://surfly.com/{formatted_id}",
        # The leader link dies 2 minutes after creation; history keeps none.
        leader_link=f"https://surfly.com/{token(rng, 21)}" if is_live else "",
        server=rng.choice(SERVER_HOSTS),
        start_time=start,
        end_time=end,
        duration=duration,
        participant_num=participants,
        successful_start=None if is_live else participants > 1,
        queue_id=int(pin) if pin else 0,
        queued=pin is not None,
        waiting_time=rng.randrange(5, 180) if pin else None,
        pin=pin,
        start_url=rng.choice(URLS),
        meta=json.dumps(rng.choice(META)),
        tags=tags,
        tags_text=tags_text(tags),
        option_set=rng.choices(sets, weights=(6, 2, 1, 1))[0],
    )
    s.record_json = dump_record(history_record(s))
    return s


def _webhooks(company: Company) -> None:
    Webhook.objects.bulk_create(
        [
            # Points nowhere until the portal registers its own URL (port 9 is
            # "discard": the delivery fails at once instead of hanging).
            Webhook(pk=537, company=company, category="session.started",
                    url="http://127.0.0.1:9/surfly/session-started/"),
            # Surfly switches a webhook off after repeated failed deliveries.
            Webhook(pk=538, company=company, category="session.ended", enabled=False,
                    url="https://crm.example.com/hooks/surfly/"),
        ]
    )  # fmt: skip


def _reset_sequences() -> None:
    """Explicit ids do not move PostgreSQL sequences; make the next insert safe."""
    connection = connections[ALIAS]
    statements = connection.ops.sequence_reset_sql(
        no_style(), [Company, Agent, Webhook, SandboxSession, OptionSet]
    )
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def connect_demo_webhooks(credentials: dict, receiver_url: str) -> int:
    """Point the sandbox company's `session.*` webhooks at a portal receiver, as an
    admin would in Surfly's Integration page (idempotent; used by `demo_setup`)."""
    company = Company.objects.filter(api_key=credentials.get("api_key")).first()
    if company is None:
        return 0
    created = 0
    for category in ("session.queued", "session.started", "session.ended"):
        _, made = Webhook.objects.get_or_create(
            company=company,
            category=category,
            url=receiver_url,
            defaults={"enabled": True, "ssl_verification": False},
        )
        created += made
    return created
