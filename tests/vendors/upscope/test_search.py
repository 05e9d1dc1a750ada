"""Upscope's search syntax (vendor-apis.md §3.6): the client builds it, the
sandbox honours every token, alone and combined, and `max_results`."""

from __future__ import annotations

import pytest

from vendors.upscope.client import search_query
from vendors.upscope.sandbox.models import Visitor
from vendors.upscope.sandbox.seed import MAIN_KEY

from .conftest import SANDBOX

pytestmark = SANDBOX


def ids(api, search, limit=10) -> set[str]:
    return {v.short_id for v in api.list_visitors(search, max_results=limit)}


def test_search_query_builds_every_token():
    assert (
        search_query(
            "ana  lima",
            email="ana@x.com",
            online=True,
            ip="1.2.3.4",
            unique_id="cust-1",
            lookup_code="1234",
            tags=["VIP", "#PRO-PLAN"],
            integration_ids=[("intercom", "1001"), "zendesk:9"],
        )
        == "ana lima ana@x.com online ip:1.2.3.4 id:cust-1 1234 #VIP #PRO-PLAN "
        "integration_id:intercom:1001 integration_id:zendesk:9"
    )
    assert search_query(online=False) == "-online"
    assert search_query() == ""
    for bad in (
        {"tags": ["vip"]},
        {"lookup_code": "12345"},
        {"integration_ids": ["ic:1"]},
        {"email": "nope"},
        {"ip": "1.2.3.4 online"},
    ):
        with pytest.raises(ValueError):
            search_query(**bad)


def test_email_ip_id_and_lookup_code(api):
    assert ids(api, search_query(email="ana.lima@example.com")) == {"v0001"}
    assert ids(api, "ANA.LIMA@example.com") == {"v0001"}  # e-mails are case-blind
    assert ids(api, search_query(ip="203.0.113.11")) == {"v0002"}
    assert ids(api, search_query(unique_id="cust-0003")) == {"v0003"}
    assert ids(api, search_query(lookup_code="4567")) == {"v0004"}
    assert ids(api, "id:cust-000") == set()  # id: is exact, not a prefix


def test_tags_and_integration_ids(api):
    vip = Visitor.objects.filter(
        account__api_key=MAIN_KEY, tokens_text__contains=" #vip "
    )
    assert vip.count() > 10
    found = api.list_visitors("#VIP")
    assert len(found) == 10 and all("#VIP" in v.tags for v in found)
    assert ids(api, "#VIP #CHECKOUT id:cust-0001") == {"v0001"}
    assert ids(api, "#CHECK") & {"v0001"} == set()  # a whole tag only
    assert ids(api, search_query(integration_ids=["intercom:1001"])) == {"v0001"}
    assert ids(api, "integration_id:zendesk:2002") == {"v0002"}
    assert ids(api, "integration_id:intercom:2002") == set()


def test_online_and_offline(api):
    online = api.list_visitors("online")
    assert online and all(v.is_online for v in online)
    assert {"v0001", "v0002"} <= {v.short_id for v in online}
    offline = api.list_visitors("-online")
    assert offline and not any(v.is_online for v in offline)
    assert ids(api, "-online cust-0003") == {"v0003"}
    assert ids(api, "online cust-0003") == set()


def test_free_text_is_fuzzy_and_every_word_counts(api):
    assert "v0001" in ids(api, "lima")
    assert "v0001" in ids(api, "LIMA checkout")  # name and URL
    assert ids(api, "ana lima london nowhere-at-all") == set()
    found = api.list_visitors("example.com", max_results=3)
    assert len(found) == 3


def test_combined_tokens_narrow_each_other(api):
    assert ids(api, "online #TRIAL ip:203.0.113.11") == {"v0002"}
    assert ids(api, "-online #TRIAL ip:203.0.113.11") == set()
    assert ids(api, "sam.patel@example.org 2345 online") == {"v0002"}
    assert ids(api, "sam.patel@example.org 1234") == set()


def test_max_results_one(api):
    assert len(api.list_visitors("online", max_results=1)) == 1
