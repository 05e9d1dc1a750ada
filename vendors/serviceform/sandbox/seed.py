"""Deterministic Serviceform sandbox data: `seed(size, seed)` always yields the
same accounts, spaces, items, leads and `size` chats with their messages.

Accounts (keys are demo values):
- `sandbox-serviceform-key-0001` Acme (the reseller demo): `size` chats over
  the last ~4 months, three spaces (one with a field of every type, one small,
  one empty), items and leads;
- `sandbox-serviceform-key-0002` Globex (the client demo): a small account.
Chat start times are whole seconds and about one chat in eight shares its
second with the one before, so windows have ties at their edges (as
Serviceform's Unix-second times would). Times count back from the start of
the current hour, so only their anchor moves between runs. Rows are inserted
by vendorkit's bulk writer in one transaction on the `sandbox` alias (100,000
chats in seconds).
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from django.db import connections, transaction
from django.utils import timezone

from cobrowse_portal.vendorkit.bulk import converters, write_rows
from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from .models import Account, Chat, Item, Lead, Space

MAIN_KEY = "sandbox-serviceform-key-0001"
CLIENT_KEY = "sandbox-serviceform-key-0002"
MAIN_NAME = "Acme (sandbox)"
BATCH = 5000
HISTORY_DAYS = 120

FIRST = ["Ana", "Sam", "Jo", "Kim", "Lee", "Ravi", "Mia", "Tom", "Zoe", "Omar"]
LAST = ["Lima", "Patel", "Chen", "Berg", "Ortiz", "Novak", "Okafor", "Rossi"]
AGENTS = [
    ("ag_alice", "Alice Agent", "alice@acme.test"),
    ("ag_bob", "Bob Agent", "bob@acme.test"),
    ("ag_carol", "Carol Agent", "carol@acme.test"),
    ("ag_dan", "Dan Agent", "dan@acme.test"),
]
SOURCES = ["website", "website", "website", "mobile", "facebook"]
URLS = [
    "https://www.example.com/pricing",
    "https://www.example.com/contact",
    "https://shop.example.com/checkout",
]
VISITOR_LINES = [
    "Hi, I have a question about your service.",
    "How much does an installation cost?",
    "Can I book a visit next week?",
    "My order has not arrived yet.",
    "Do you work on weekends?",
]
AGENT_LINES = [
    "Hello, how can I help you?",
    "Let me check that for you.",
    "Sure, I can book that for you.",
    "Thank you for your inquiry!",
]
BOT_LINES = [
    "Hi! I am the Acme assistant. What can I do for you?",
    "You can find our prices on the pricing page.",
    "Please leave your e-mail and we will get back to you.",
]


def _options(*values: str) -> list[dict]:
    return [
        {"machine": v, "label": v.replace("_", " ").capitalize(), "value": v}
        for v in values
    ]


#: (machine, name, type, options, required) of the space with every type.
REQUEST_FIELDS = [
    ("customer", "Customer", "text", [], True),
    ("notes", "Notes", "textarea", [], False),
    ("budget", "Budget", "number", [], False),
    ("due_date", "Due date", "date", [], False),
    ("appointment", "Appointment", "datetime", [], False),
    ("status", "Status", "select", _options("new", "in_progress", "done"), True),
    (
        "services",
        "Services",
        "multiselect",
        _options("installation", "repair", "maintenance"),
        False,
    ),
    ("urgent", "Urgent", "checkbox", [], False),
    ("contact_email", "Contact e-mail", "email", [], False),
    ("contact_phone", "Contact phone", "phone", [], False),
    ("website", "Website", "url", [], False),
]
PRODUCT_FIELDS = [
    ("price", "Price", "number", [], True),
    ("category", "Category", "select", _options("tools", "parts", "service"), False),
    ("in_stock", "In stock", "checkbox", [], False),
]


def seed(size: int, seed: int = 1, reset: bool = False) -> str:
    """Fill the sandbox; a no-op when data exists, unless `reset`."""
    if Account.objects.exists() and not reset:
        return f"already seeded ({summary()}); use --reset to start over"
    rng = random.Random(seed)
    anchor = timezone.now().replace(minute=0, second=0, microsecond=0)
    with transaction.atomic(using=ALIAS):
        if reset:
            for model in (Chat, Lead, Item, Space, Account):
                model.objects.all().delete()
        main = _account(rng, MAIN_KEY, MAIN_NAME)
        _fill(rng, main, size, anchor, items=max(5, min(size // 50, 2000)))
        second = _account(rng, CLIENT_KEY, "Globex (sandbox)")
        _fill(rng, second, max(10, size // 20), anchor, items=5)
    return summary()


def summary() -> str:
    return (
        f"{Account.objects.count()} accounts, {Space.objects.count()} spaces, "
        f"{Item.objects.count()} items, {Lead.objects.count()} leads, "
        f"{Chat.objects.count()} chats"
    )


def _id(rng: random.Random, n: int = 20) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(n))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _account(rng, key: str, name: str) -> Account:
    return Account.objects.create(
        name=name, api_key=key, client_id=_id(rng, 12), api_user=_id(rng, 28)
    )


def _fields(rng, spec) -> list[dict]:
    return [
        {
            "machine": machine,
            "name": name,
            "id": _id(rng),
            "type": kind,
            "options": options,
            "required": required,
        }
        for machine, name, kind, options, required in spec
    ]


def _insert(model, rows: list[dict]) -> None:
    """Insert dicts of column values by vendorkit's bulk writer (SQLite
    multi-row VALUES, PostgreSQL COPY): at 100,000 chats Django's bulk_create and
    model instances cost most of the time."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    convert = converters(fields, connections[ALIAS])
    spec = [(f.attname, f.get_default()) for f in fields]
    for start in range(0, len(rows), BATCH):
        values = []
        for row in rows[start : start + BATCH]:
            value = [row.get(a, d) for a, d in spec]
            for i, c in enumerate(convert):
                if c is not None:
                    value[i] = c(value[i])
            values.append(value)
        write_rows(model, fields, values)


def _request_values(rng, anchor) -> dict:
    """Values of an item of the space with every field type (some left out)."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    values = {
        "customer": f"{first} {last}",
        "status": rng.choice(("new", "in_progress", "done")),
    }
    if rng.random() < 0.7:
        values["notes"] = "Customer asked for a callback.\nPrefers mornings."
    if rng.random() < 0.8:
        values["budget"] = rng.choice((rng.randrange(100, 5000), 99.5))
    if rng.random() < 0.6:
        values["due_date"] = (
            (anchor + timedelta(days=rng.randrange(1, 60))).date().isoformat()
        )
    if rng.random() < 0.4:
        at = anchor + timedelta(hours=rng.randrange(1, 24 * 30))
        values["appointment"] = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if rng.random() < 0.7:
        values["services"] = sorted(
            rng.sample(["installation", "repair", "maintenance"], rng.randrange(1, 3))
        )
    values["urgent"] = rng.random() < 0.2
    if rng.random() < 0.8:
        values["contact_email"] = f"{first.lower()}.{last.lower()}@example.com"
    if rng.random() < 0.5:
        values["contact_phone"] = f"+358 40 {rng.randrange(1000000, 9999999)}"
    if rng.random() < 0.3:
        values["website"] = f"https://{last.lower()}.example.com"
    return values


def _fill(rng, account: Account, chats: int, anchor, *, items: int) -> None:
    requests = Space.objects.create(
        account=account,
        space_id=_id(rng),
        name="Service requests",
        fields=_fields(rng, REQUEST_FIELDS),
        position=1,
    )
    products = Space.objects.create(
        account=account,
        space_id=_id(rng),
        name="Products",
        fields=_fields(rng, PRODUCT_FIELDS),
        position=2,
    )
    Space.objects.create(
        account=account,
        space_id=_id(rng),
        name="Archive (empty)",
        fields=_fields(rng, [("title", "Title", "text", [], False)]),
        position=3,
    )
    users = [_id(rng, 28) for _ in range(3)]
    rows = []
    for i in range(items):
        created = anchor - timedelta(minutes=rng.randrange(60, 60 * 24 * 90))
        values = _request_values(rng, anchor)
        rows.append(
            {
                "space_id": requests.pk,
                "item_id": _id(rng),
                "uid": rng.choice(users),
                "uuid": _uuid(rng),
                "primary_field": f"Request {i + 1}: {values['customer']}",
                "values": values,
                "created": created,
                "updated": created + timedelta(minutes=rng.randrange(0, 600)),
                "last_updater": rng.choice(users),
            }
        )
    for name, price, category in (
        ("Drill", 129.0, "tools"),
        ("Filter", 12.5, "parts"),
        ("Yearly check", 240, "service"),
    ):
        created = anchor - timedelta(days=rng.randrange(10, 100))
        rows.append(
            {
                "space_id": products.pk,
                "item_id": _id(rng),
                "uid": users[0],
                "uuid": _uuid(rng),
                "primary_field": name,
                "values": {"price": price, "category": category, "in_stock": True},
                "created": created,
                "updated": created,
                "last_updater": users[0],
            }
        )
    _insert(Item, rows)
    leads = max(10, min(chats // 20, 5000))
    _insert(Lead, [_lead(rng, account, requests, anchor, i) for i in range(leads)])
    _chats(rng, account, chats, anchor)


def _lead(rng, account, space, anchor, i) -> dict:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    created = anchor - timedelta(minutes=rng.randrange(60, 60 * 24 * HISTORY_DAYS))
    lead_id = _id(rng)
    ts = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    data = {
        "id": lead_id,
        "page_url": rng.choice(URLS),
        "pid": _id(rng, 8),
        "language": rng.choice(("en", "fi", "sv")),
        "source": rng.choice(SOURCES),
        "tools": [{"tid": "contact-form"}],
        "tid": "contact-form",
        "sid": account.client_id,
        "duration": rng.randrange(10, 900),
        "uid": f"v{rng.randrange(1, 10_000):05d}",
        "pageviews": rng.randrange(1, 12),
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{i}@example.com",
        "phone": f"+358 50 {rng.randrange(1000000, 9999999)}",
        "timestamp": ts,
        "tool_name": rng.choice(("Contact form", "Quote request", "Chat lead")),
        "created": ts,
        "updated": ts,
        "mobile": rng.random() < 0.3,
        "history": [
            {
                "id": _id(rng, 10),
                "message": rng.choice(VISITOR_LINES),
                "type": "text",
                "timestamp": int(created.timestamp()),
            }
        ],
        "site": "www.example.com",
        "space_id": space.space_id,
    }
    return {
        "account_id": account.pk,
        "lead_id": lead_id,
        "created": created,
        "data": data,
    }


def _chats(rng, account: Account, count: int, anchor) -> None:
    span = HISTORY_DAYS * 24 * 3600
    visitors = max(3, count // 3)
    batch: list[dict] = []
    previous = None
    for i in range(count):
        if previous is not None and rng.random() < 0.125:
            started = previous  # shares its second with the chat before
        else:
            back = int(span * (count - i - rng.random()) / max(count, 1)) + 3600
            started = anchor - timedelta(seconds=back)
            if previous is not None and started < previous:
                started = previous
        previous = started
        chatbot = rng.random() < 0.3
        agent = None if chatbot else AGENTS[rng.randrange(len(AGENTS))]
        t = started
        messages = []
        first_response = None
        length = rng.randrange(2, 9)
        for n in range(length):
            if n % 2 == 0:
                sender, text, author = "visitor", rng.choice(VISITOR_LINES), ""
            elif chatbot or (n == 1 and length >= 4 and rng.random() < 0.5):
                # A human chat may open with the bot's greeting; it still has
                # an agent's answer after it.
                sender, text, author = "bot", rng.choice(BOT_LINES), "Acme assistant"
            else:
                sender, text, author = "agent", rng.choice(AGENT_LINES), agent[1]
            if n:
                t += timedelta(seconds=rng.randrange(5, 240))
            if first_response is None and sender != "visitor" and messages:
                first_response = int((t - started).total_seconds())
            messages.append(
                {
                    "id": f"m{i + 1}-{n + 1}",
                    "message": text,
                    "type": "text",
                    "sender": sender,
                    "author": author,
                    "timestamp": int(t.timestamp()),
                }
            )
        if rng.random() < 0.1:
            messages.append(
                {
                    "id": f"m{i + 1}-end",
                    "message": "The chat was closed.",
                    "type": "text",
                    "sender": "system",
                    "author": "",
                    "timestamp": int(t.timestamp()),
                }
            )
        first, last = rng.choice(FIRST), rng.choice(LAST)
        named = rng.random() < 0.6
        batch.append(
            {
                "account_id": account.pk,
                "cid": f"{rng.getrandbits(32):08x}{i + 1:06d}",
                "uid": f"v{rng.randrange(1, visitors + 1):05d}",
                "started": started,
                "ended": t,
                "chatbot": chatbot,
                "agent_id": agent[0] if agent else "",
                "agent_name": agent[1] if agent else "",
                "agent_email": agent[2] if agent else "",
                "agent_joined": started + timedelta(seconds=first_response or 0)
                if agent
                else None,
                "first_response": first_response,
                "rating": rng.randrange(1, 6) if agent and rng.random() < 0.4 else None,
                "source": rng.choice(SOURCES),
                "first_name": first if named else "",
                "last_name": last if named else "",
                "email": f"{first.lower()}.{last.lower()}@example.com" if named else "",
                "phone": "",
                "url": rng.choice(URLS),
                "message_count": len(messages),
                "messages": messages,
            }
        )
        if len(batch) >= BATCH:
            _insert(Chat, batch)
            batch = []
    _insert(Chat, batch)
