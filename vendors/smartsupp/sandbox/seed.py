"""Deterministic Smartsupp sandbox data: `seed(size, seed)` always yields the
same keys, accounts, users, triggers and office hours.

Keys (demo values):
- `sandbox-smartsupp-key-0001` (reseller): `size` accounts, ids 1001 … in
  order; the first is "Acme Support (sandbox)" with the fixed users of
  `FIXED_USERS`; every account has `USERS_PER_ACCOUNT` users (the first an
  admin), `TRIGGERS_PER_ACCOUNT` triggers and office hours;
- `sandbox-smartsupp-key-0002` (client): its one account, "Globex (sandbox)".
At `size` 2,000 that is 20,000 users and more: rows are inserted by vendorkit's
bulk writer (SQLite multi-row VALUES, PostgreSQL COPY) in one transaction on the
`sandbox` alias, and the id sequences are set to follow them.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import connections, transaction
from django.utils import timezone

from cobrowse_portal.vendorkit.bulk import converters, write_rows
from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from .models import Account, ApiKey, OfficeHours, Sequence, Trigger, User

RESELLER_KEY = "sandbox-smartsupp-key-0001"
CLIENT_KEY = "sandbox-smartsupp-key-0002"
MAIN_NAME = "Acme Support (sandbox)"
CLIENT_NAME = "Globex (sandbox)"
FIRST_ID = 1001
USERS_PER_ACCOUNT = 10
TRIGGERS_PER_ACCOUNT = 2
BATCH = 5000

LANGS = ["en", "en", "en", "cs", "de", "fr", "es", "sk"]
COMPANIES = ["Shop", "Store", "Studio", "Labs", "Travel", "Bikes", "Books", "Foods"]
TOWNS = ["Brno", "Praha", "Berlin", "Lyon", "Madrid", "Leeds", "Graz", "Ghent"]
FIRST = ["Ana", "Sam", "Jo", "Kim", "Lee", "Ravi", "Mia", "Tom", "Zoe", "Omar"]
LAST = ["Lima", "Patel", "Chen", "Berg", "Ortiz", "Novak", "Okafor", "Rossi"]
#: The main account's first users (tests and the demo rely on them): role,
#: e-mail, full name, nickname.
FIXED_USERS = [
    ("admin", "alice@acme.test", "Alice Admin", "Alice"),
    ("agent", "bob@acme.test", "Bob Agent", "Bob"),
    ("agent", "carol@acme.test", "Carol Agent", "Carol"),
]
TRIGGERS = [
    (
        "1st visit greeting",
        "Greeting message to a visitor who visits your website for the 1st time",
        "onload",
        [
            {"name": "delay_site", "value": 60},
            {"name": "is_visitor_send_message", "value": False},
            {"name": "is_visitor_served", "value": False},
            {"name": "number_of_visits", "value": 1},
        ],
        "Hello, we have noticed you are here for the 1st time. If you have any "
        "questions, do not hesitate to get in touch.",
    ),
    (
        "Pricing help",
        "Offer help on the pricing page after 3 minutes",
        "onload",
        [
            {"name": "url", "value": "/pricing"},
            {"name": "delay_page", "value": 180},
        ],
        "Hello, can I help you select the right plan?",
    ),
    (
        "Returning visitor",
        "Welcome back a returning visitor",
        "onload",
        [{"name": "number_of_visits", "value": 3}],
        "Welcome back! Anything we can help with today?",
    ),
]
#: Office hours: weekdays 08:00–11:45 and 13:00–17:00, as the guide's example.
WEEKDAY_TIMES = [{"from": 480, "to": 705}, {"from": 780, "to": 1020}]


def seed(size: int, seed: int = 1, reset: bool = False) -> str:
    """Fill the sandbox; a no-op when data exists, unless `reset`."""
    if ApiKey.objects.exists() and not reset:
        return f"already seeded ({summary()}); use --reset to start over"
    rng = random.Random(seed)
    anchor = timezone.now().replace(minute=0, second=0, microsecond=0)
    with transaction.atomic(using=ALIAS):
        if reset:
            for model in (OfficeHours, Trigger, User, Account, ApiKey, Sequence):
                model.objects.all().delete()
        reseller = ApiKey.objects.create(key=RESELLER_KEY, name="Reseller (sandbox)")
        client = ApiKey.objects.create(key=CLIENT_KEY, name="Client (sandbox)")
        accounts = []
        for i in range(size):
            title = MAIN_NAME if i == 0 else _title(rng, i)
            accounts.append(_account(rng, reseller, FIRST_ID + i, title, anchor, i))
        accounts.append(
            _account(rng, client, FIRST_ID + size, CLIENT_NAME, anchor, size)
        )
        _insert(Account, accounts)
        pks = dict(Account.objects.values_list("number", "pk"))
        users, triggers, hours = [], [], []
        user_no, trigger_no = FIRST_ID, FIRST_ID
        for a in accounts:
            pk = pks[a["number"]]
            fixed = FIXED_USERS if a["title"] == MAIN_NAME else []
            for j in range(USERS_PER_ACCOUNT):
                users.append(_user(rng, pk, a, user_no, j, fixed))
                user_no += 1
            for j in range(TRIGGERS_PER_ACCOUNT):
                triggers.append(_trigger(rng, pk, trigger_no, j))
                trigger_no += 1
            hours.append(_hours(rng, pk))
            if len(users) >= BATCH:
                _insert(User, users)
                _insert(Trigger, triggers)
                _insert(OfficeHours, hours)
                users, triggers, hours = [], [], []
        _insert(User, users)
        _insert(Trigger, triggers)
        _insert(OfficeHours, hours)
        Sequence.objects.bulk_create(
            [
                Sequence(name="account", next=FIRST_ID + size + 1),
                Sequence(name="user", next=user_no),
                Sequence(name="trigger", next=trigger_no),
            ]
        )
    return summary()


def summary() -> str:
    return (
        f"{Account.objects.count()} accounts, {User.objects.count()} users, "
        f"{Trigger.objects.count()} triggers"
    )


def _title(rng: random.Random, i: int) -> str:
    return f"{rng.choice(TOWNS)} {rng.choice(COMPANIES)} {i + 1}"


def _account(rng, owner: ApiKey, number: int, title: str, anchor, i: int) -> dict:
    return {
        "owner_id": owner.pk,
        "number": number,
        "title": title,
        "lang": "en" if i == 0 else rng.choice(LANGS),
        "account_key": f"{rng.getrandbits(152):038x}",
        "hook_url": "",
        "created_at": anchor - timedelta(days=1 + i // 10, minutes=i % 600),
    }


def _user(rng, pk: int, account: dict, number: int, j: int, fixed: list) -> dict:
    if j < len(fixed):
        role, email, fullname, nickname = fixed[j]
    else:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        fullname = f"{first} {last}"
        nickname = first
        role = "admin" if j == 0 else "agent"
        # Unique across the sandbox (as Smartsupp's logins): the user's id is in it.
        email = f"{first.lower()}.{last.lower()}.{number}@acc{account['number']}.test"
    return {
        "account_id": pk,
        "number": number,
        "role": role,
        "email": email,
        "email_key": email.lower(),
        "fullname": fullname,
        "nickname": nickname,
        "lang": account["lang"],
        "active": j < len(fixed) or rng.random() < 0.9,
        "password_length": rng.randrange(8, 20),
    }


def _trigger(rng, pk: int, number: int, j: int) -> dict:
    name, description, event, conditions, message = TRIGGERS[
        (j + rng.randrange(len(TRIGGERS))) % len(TRIGGERS) if j else 0
    ]
    return {
        "account_id": pk,
        "number": number,
        "active": j == 0 or rng.random() < 0.5,
        "name": name,
        "description": description,
        "event": event,
        "only_once": True,
        "constraints": "all",
        "conditions": conditions,
        "actions": [{"name": "message", "agent_nick": "Support", "message": message}],
    }


def _hours(rng, pk: int) -> dict:
    days = [1, 2, 3, 4, 5] if rng.random() < 0.8 else [1, 2, 3, 4, 5, 6]
    return {
        "account_id": pk,
        "active": rng.random() < 0.7,
        "days": days,
        "timezone": rng.choice((0, 1, 1, 2)),
        "config": [{"dow": d, "times": WEEKDAY_TIMES} for d in days],
    }


def _insert(model, rows: list[dict]) -> None:
    """Insert dicts of column values by vendorkit's bulk writer (model
    instances and Django's bulk_create cost most of the time at 20,000 users)."""
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
