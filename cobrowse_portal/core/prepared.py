"""SQL the ORM writes once, run many times with new integer values.

Building and compiling a queryset with subqueries costs more CPU than running it
(the dashboard's figures: about a millisecond each). `prepared_rows` lets the ORM
write the SQL once per database and number of values, with placeholders standing
for the values, and then runs that SQL with the real values in their places, as
`open_workspaces` does for the user's pk. Rows come back as the driver returns
them (no field converters): select integers, counts and text only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import connections, router
from django.db.models import Model, QuerySet

#: Placeholder i is BASE - i: never a real pk (they are positive).
BASE = -918273700
_plans: dict[tuple, tuple[str, tuple, tuple[int | None, ...]]] = {}


def prepared_rows(
    name: str,
    model: type[Model],
    build: Callable[[list[int]], QuerySet],
    values: Sequence[int],
) -> list[tuple]:
    """`build(values)`'s rows: `build` must use each value as a query parameter
    exactly as given (no arithmetic on it), and the same SQL for any values."""
    using = router.db_for_read(model)
    key = (name, using, connections[using].vendor, len(values))
    plan = _plans.get(key)
    if plan is None:
        holders = [BASE - i for i in range(len(values))]
        query = build(holders).query
        sql, params = query.get_compiler(using=using).as_sql()
        slots = tuple(BASE - p if p in holders else None for p in params)
        missing = set(range(len(values))) - set(slots)
        assert not missing, f"{name}: values {sorted(missing)} are not parameters"
        plan = _plans[key] = (sql, tuple(params), slots)
    sql, params, slots = plan
    bound = [
        p if slot is None else values[slot]
        for p, slot in zip(params, slots, strict=True)
    ]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, bound)
        return cursor.fetchall()
