"""The sandbox posts finished chats like Smartsupp's legacy "POST hook"
(vendor-apis.md §5.5): one JSON body per finished, missed or offline chat, to
the URL the account asked Smartsupp for (here `Account.hook_url`; for the
portal, its shared receiver: `vendorkit.webhooks.receiver_url(account)`).

`finished_chat(account, …)` builds the §5.5 body (deterministic for a given
`seed`); `post_finished_chat(account, url=None, …)` sends it through
vendorkit's sandbox `emit` (as the Upscope sandbox posts a session's end), off
the request thread unless `SANDBOX_WEBHOOKS_INLINE`. The control endpoint
`POST accounts/{aid}/_sandbox/finished-chat` (the sandbox's own, not
Smartsupp's; the account's `apiKey` header as for every call) takes an
optional `{"url", "seed", "missed", "offline"}`: a `url` is saved as the
account's hook URL, then one chat is posted to it.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

from django.utils import timezone

from cobrowse_portal.vendorkit.sandbox.emit import emit

from .api import invalid, read_body, respond
from .models import Account, ApiKey, User

HOOK_URL = re.compile(r"^https?://[^\s/]+\S*$")
VISITORS = [
    ("Ana Lima", "ana.lima@example.com", "London", "GB", "United Kingdom"),
    ("Sam Patel", "sam.patel@example.org", "Toronto", "CA", "Canada"),
    ("", "", "Berlin", "DE", "Germany"),
    ("Jo Chen", "", "Dublin", "IE", "Ireland"),
]
PAGES = [
    ("https://shop.example.com/", "Shop"),
    ("https://shop.example.com/pricing", "Pricing"),
    ("https://shop.example.com/checkout", "Checkout"),
]
QUESTIONS = ["Hi, is shipping free?", "Can I change my order?", "Do you ship to DE?"]
ANSWERS = ["Hello! Yes, over 50 EUR.", "Sure, give me the order number.", "We do."]
AGENT = "Support"


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def finished_chat(
    account: Account,
    *,
    seed: int | None = None,
    now: datetime | None = None,
    missed: bool = False,
    offline: bool = False,
) -> dict:
    """One finished chat of `account`, shaped as §5.5 (times ms epoch in the
    chat, seconds in `channel`). A missed or offline chat has no agent reply."""
    rng = random.Random(seed)
    now = now or timezone.now()
    name, email, city, code, country = rng.choice(VISITORS)
    agent = (
        User.objects.filter(account=account, active=True)
        .order_by("number")
        .values_list("nickname", "email", "number")
        .first()
    )
    # Unknown (vendor-apis.md §5.5): what a message's `from` holds. The visitor's
    # messages carry the visitor id there, so an agent's carry the agent's user
    # id (the portal matches chats to its users by it) and `email` the e-mail.
    agent_name, agent_email, agent_id = agent or (AGENT, "", None)
    answered = not (missed or offline)
    duration = rng.randrange(60, 900) if answered else 0
    end = now - timedelta(seconds=rng.randrange(1, 60))
    begin = end - timedelta(seconds=duration or rng.randrange(20, 120))
    visitor_id = f"vi{rng.getrandbits(40):010x}"
    first_response = rng.randrange(5, 60) if answered else None
    i = rng.randrange(len(QUESTIONS))
    messages = [
        {
            "type": "visitor",
            "name": name,
            "from": visitor_id,
            "content": QUESTIONS[i],
            "sentAt": _ms(begin),
            "triggeredBy": None,
            "email": email or None,
        }
    ]
    if answered:
        messages += [
            {
                "type": "system",
                "name": None,
                "from": None,
                "content": "agent.join",
                "sentAt": _ms(begin) + 1000 * (first_response - 1),
                "triggeredBy": None,
                "email": None,
            },
            {
                "type": "agent",
                "name": agent_name,
                "from": str(agent_id) if agent_id is not None else None,
                "content": ANSWERS[i],
                "sentAt": _ms(begin) + 1000 * first_response,
                "triggeredBy": None,
                "email": agent_email or None,
            },
            {
                "type": "system",
                "name": None,
                "from": None,
                "content": "close.visitorClose",
                "sentAt": _ms(end),
                "triggeredBy": None,
                "email": None,
            },
        ]
    words = sum(
        len(str(m["content"]).split()) for m in messages if m["type"] != "system"
    )
    pages = PAGES[: rng.randrange(1, len(PAGES) + 1)]
    return {
        "accountId": str(account.number),
        "beginAt": _ms(begin),
        "endAt": _ms(end),
        "channel": {
            "id": f"ch{rng.getrandbits(48):012x}",
            "isChat": True,
            "isMissed": missed,
            "isTriggered": False,
            "isOffline": offline,
            "isCompleted": answered,
            "isDropped": False,
            "duration": duration,
            "avgResponse": first_response or 0,
            "firstResponse": first_response or 0,
            "messagesCount": len(messages),
            "wordsCount": words,
            "rating": rng.choice((0, 4, 5)) if answered else 0,
            "ratingDesc": "",
        },
        "visitor": {
            "id": visitor_id,
            "name": name,
            "email": email,
            "note": "",
            "groupKey": "",
            "ipAddress": f"203.0.113.{rng.randrange(1, 255)}",
            "city": city,
            "countryCode": code,
            "country": country,
            "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Firefox/120.0",
            "platform": "desktop",
            "referer": "https://www.example.com/",
            "variables": {"plan": {"label": "Plan", "value": "pro"}},
        },
        "paths": [{"url": u, "title": t} for u, t in pages],
        "messages": messages,
    }


def post_finished_chat(account: Account, url: str | None = None, **options) -> dict:
    """Build one finished chat of `account` and POST it to `url` (default: the
    account's hook URL); the body sent. ValueError when there is no URL."""
    target = url or account.hook_url
    if not target:
        raise ValueError(f"account {account.number} has no hook URL")
    payload = finished_chat(account, **options)
    emit(target, payload)
    return payload


def finished_chat_view(request, owner: ApiKey, aid: str):
    from .views import account_of

    account = account_of(owner, aid)
    body = read_body(request) if request.body else {}
    url = body.get("url")
    if url is not None:
        if not isinstance(url, str) or not HOOK_URL.match(url) or len(url) > 2000:
            raise invalid("url", "Parameter url must be an http(s) URL.")
        account.hook_url = url
        account.save(update_fields=["hook_url"])
    if not account.hook_url:
        raise invalid("url", "No hook URL: send one in url.")
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise invalid("seed", "Parameter seed must be an integer.")
    flags = {}
    for key in ("missed", "offline"):
        if key in body and not isinstance(body[key], bool):
            raise invalid(key, f"Parameter {key} must be true or false.")
        flags[key] = bool(body.get(key, False))
    payload = post_finished_chat(account, seed=seed, **flags)
    return respond({"posted": True, "chat": payload})
