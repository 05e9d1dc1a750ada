"""One rule for merging state from pulls and webhooks: a record never moves backwards.

A vendor object that goes through stages (queued -> live -> ended) reaches us from
two directions: pulls (no order of their own, but vendor timestamps) and webhooks
(the vendor's sequence number, and usually timestamps too). Either can arrive late.
Each side describes the state it carries as a `Stage`; `is_newer()` decides whether
that state may replace what is stored:

- When both sides carry the vendor's sequence, an incoming state that is not newer
  never applies (a late or repeated event must not undo a newer one).
- Otherwise a later or the same stage applies (ended after live).
- An earlier stage (live after ended) applies only when the vendor's own time says it
  happened after the stored stage did, e.g. a session started again after it ended.
  Without both times it is refused: ended is final unless a newer event says so.

Vendors supply `Lifecycle` (how to read a stage from field values, and which fields
carry it); `keep_newer()` applies the rule to a batch of pulled rows before
`bulk.upsert`, and webhook handlers call `is_newer()` before applying an event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import router

from .activity import rows_by_keys


@dataclass(frozen=True)
class Stage:
    """Where a record is in its lifecycle: a rank (higher is later), the vendor time
    at which it entered that stage, and the vendor's event sequence if known."""

    rank: int
    at: datetime | None = None
    sequence: int | None = None


def is_newer(incoming: Stage, current: Stage | None) -> bool:
    """May `incoming` replace `current`? (See the module docstring.)"""
    if current is None:
        return True
    both = incoming.sequence is not None and current.sequence is not None
    if both and incoming.sequence <= current.sequence:
        return False  # the vendor sent it before what we already applied
    if incoming.rank >= current.rank:
        return True
    # Moving back to an earlier stage: only on the vendor's word that it is later.
    return (
        incoming.at is not None and current.at is not None and incoming.at > current.at
    )


@dataclass(frozen=True)
class Lifecycle:
    """How a vendor model's rows carry their stage.

    `stage(values)` reads a `Stage` from a mapping of field values (a pulled row or a
    stored row's fields, `reads` of them); `fields` make up the stage and are kept
    from the stored row when a pulled row would move it backwards.
    """

    stage: Callable[[Mapping[str, Any]], Stage]
    fields: tuple[str, ...]
    reads: tuple[str, ...] = ()
    #: The last stage (e.g. ended): a pulled row there cannot move backwards, so
    #: it needs no look-up (a history backfill is nearly all of them).
    last: int | None = None


def keep_newer(model, account, rows: Iterable[dict], lifecycle: Lifecycle) -> list:
    """Pulled `rows` with the stage fields of any row that would move its stored
    record backwards replaced by the stored values (one query per batch).

    The other fields (tags, counts, the raw payload) still follow the pull.
    """
    rows = list(rows)
    stages = [lifecycle.stage(r) for r in rows]
    ids = {
        str(r["external_id"])
        for r, stage in zip(rows, stages, strict=True)
        if lifecycle.last is None or stage.rank < lifecycle.last
    }
    stored: dict[str, dict] = {}
    names = tuple(dict.fromkeys((*lifecycle.fields, *lifecycle.reads)))
    fields = [model._meta.get_field(n) for n in ("external_id", *names)]
    renamed = [(f.attname, f.name) for f in fields if f.attname != f.name]
    # None when every row is at its last stage.
    for values in rows_by_keys(
        model, account, fields, list(ids), using=router.db_for_read(model)
    ):
        for attname, name in renamed:
            values[name] = values.pop(attname)
        stored[values["external_id"]] = values
    out = []
    # A record pulled twice in one batch (a group of pages) is compared with its
    # earlier copy, not only with the stored row: the write keeps the last copy,
    # which must not be the older one.
    latest: dict[str, dict] = {}
    for row, stage in zip(rows, stages, strict=True):
        key = str(row["external_id"])
        current = latest.get(key) or stored.get(key)
        if current is not None and not is_newer(stage, lifecycle.stage(current)):
            row = {**row, **{f: current[f] for f in lifecycle.fields if f in current}}
        latest[key] = row
        out.append(row)
    return out
