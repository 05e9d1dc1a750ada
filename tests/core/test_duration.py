"""Durations and intervals read like a person writes them ("15 min", "1 day")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template

from cobrowse_portal.core.templatetags.portal import duration


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 s"),
        (1, "1 s"),
        (45, "45 s"),
        (60, "1 min"),
        (65, "1 min 5 s"),
        (300, "5 min"),
        (900, "15 min"),
        (3599, "59 min 59 s"),
        (3600, "1 h"),
        (3605, "1 h"),  # seconds beside hours are noise, and never "1 h 0 min 5 s"
        (7500, "2 h 5 min"),
        (86400, "1 day"),
        (86460, "1 day"),
        (90000, "1 day 1 h"),
        (3 * 86400 + 4 * 3600 + 59, "3 days 4 h"),
        (timedelta(minutes=15), "15 min"),
        (timedelta(days=2), "2 days"),
        ("600", "10 min"),
        (125.9, "2 min 5 s"),
    ],
)
def test_duration_reads_like_a_person_writes_it(value, text):
    assert duration(value) == text


@pytest.mark.parametrize("value", [None, "", "soon", -5, True, object()])
def test_unknown_or_negative_durations_are_a_dash(value):
    assert duration(value) == "—"


def test_duration_filter_in_a_template():
    html = Template("{% load portal %}every {{ every|duration }}").render(
        Context({"every": 300})
    )
    assert html == "every 5 min"
