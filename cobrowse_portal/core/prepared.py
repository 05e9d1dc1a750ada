"""SQL the ORM writes once, run many times with new values.

Building and compiling a queryset with subqueries costs more CPU than running it
(the dashboard's statements: about a millisecond each, a fifth of its CPU).
`prepared_sql` lets the ORM write the SQL once per database and number of values,
with placeholders standing for the values, and then gives that SQL with the real
values in their places, as `open_workspaces` does for the user's pk.
`prepared_rows` runs it. Rows come back as the driver returns them (no field
converters): select integers, counts, dates and text only (SQLite answers a raw
query's dates as text).

Values are integers, dates or aware datetimes. Each placeholder is a value no
real row holds (negative pks, dates in the year 1000), recognised in the
compiled parameters either as given or as the backend adapted it (SQLite binds
dates and datetimes as text); the real value is adapted the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

from django.db import connections, router
from django.db.models import Model, QuerySet

#: Integer placeholder i is BASE - i: never a real pk (they are positive).
BASE = -918273700
_DAY0 = date(1000, 1, 1)
_TIME0 = datetime(1000, 1, 1, tzinfo=UTC)
_plans: dict[tuple, tuple[str, tuple, tuple]] = {}

Value = int | date | datetime


def _holder(value: Value, i: int) -> Value:
    if isinstance(value, datetime):
        return _TIME0 + timedelta(minutes=i)
    if isinstance(value, date):
        return _DAY0 + timedelta(days=i)
    return BASE - i


def _adapters(using: str) -> dict[str, Callable]:
    ops = connections[using].ops
    return {
        "raw": lambda v: v,
        "date": ops.adapt_datefield_value,
        "datetime": ops.adapt_datetimefield_value,
    }


def prepared_sql(
    name: str,
    model: type[Model],
    build: Callable[[list], QuerySet],
    values: Sequence[Value],
) -> tuple[str, list, str]:
    """`build(values)`'s SQL, its parameters and its database alias. `build`
    must use each value as a query parameter exactly as given (no arithmetic on
    it) and write the same SQL for any values of the same types."""
    using = router.db_for_read(model)
    kinds = tuple(type(v).__name__ for v in values)
    key = (name, using, connections[using].vendor, kinds)
    plan = _plans.get(key)
    if plan is None:
        holders = [_holder(v, i) for i, v in enumerate(values)]
        sql, params = build(holders).query.get_compiler(using=using).as_sql()
        adapt = _adapters(using)
        forms = {}  # a parameter as it appears -> (value index, how to adapt)
        for i, h in enumerate(holders):
            kind = (
                "datetime"
                if isinstance(h, datetime)
                else "date"
                if isinstance(h, date)
                else "raw"
            )
            forms[h] = (i, "raw")
            if kind != "raw":
                forms[adapt[kind](h)] = (i, kind)
        slots = tuple(forms.get(p) if _hashable(p) else None for p in params)
        missing = set(range(len(values))) - {s[0] for s in slots if s}
        assert not missing, f"{name}: values {sorted(missing)} are not parameters"
        plan = _plans[key] = (sql, tuple(params), slots)
    sql, params, slots = plan
    adapt = _adapters(using) if any(s and s[1] != "raw" for s in slots) else {}
    bound = [
        p if slot is None else adapt[slot[1]](values[slot[0]]) if slot[1] != "raw"
        else values[slot[0]]
        for p, slot in zip(params, slots, strict=True)
    ]  # fmt: skip
    return sql, bound, using


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def prepared_rows(
    name: str,
    model: type[Model],
    build: Callable[[list], QuerySet],
    values: Sequence[Value],
) -> list[tuple]:
    """`build(values)`'s rows (see `prepared_sql`)."""
    sql, bound, using = prepared_sql(name, model, build, values)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, bound)
        return cursor.fetchall()
