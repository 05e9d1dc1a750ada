"""Bulk upsert and reconcile: local rows follow vendor rows with a fixed number of
queries per batch (one read of existing fingerprints, one INSERT ... ON CONFLICT),
never one query per row."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone

BATCH = 1000


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.removed += other.removed
        return self


def fingerprint(raw: object) -> str:
    """A stable hash of a vendor payload (key order does not matter)."""
    blob = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(blob.encode(), usedforsecurity=False).hexdigest()


def upsert(
    model: type[models.Model], account, rows: Iterable[dict], *, batch: int = BATCH
) -> Counts:
    """Create or update `model` rows of `account` from dicts of field values.

    Each dict holds `external_id`, `raw` and the mapped fields. Rows whose payload
    fingerprint is unchanged are not written; a row that was marked removed and
    comes back is restored.
    """
    counts = Counts()
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            counts += _upsert_chunk(model, account, chunk)
            chunk = []
    if chunk:
        counts += _upsert_chunk(model, account, chunk)
    return counts


def _upsert_chunk(model, account, rows: list[dict]) -> Counts:
    # The vendor may repeat a row within one answer; the last copy wins.
    by_id = {str(r["external_id"]): r for r in rows}
    existing: dict[str, str] = {}
    removed: set[str] = set()
    for ext_id, fp, removed_at in model.objects.filter(
        account=account, external_id__in=list(by_id)
    ).values_list("external_id", "fingerprint", "removed_at"):
        existing[ext_id] = fp
        if removed_at is not None:
            removed.add(ext_id)
    now = timezone.now()
    counts, objs = Counts(), []
    for ext_id, row in by_id.items():
        fp = fingerprint(row.get("raw"))
        if ext_id in existing and existing[ext_id] == fp and ext_id not in removed:
            counts.unchanged += 1
            continue
        if ext_id in existing:
            counts.updated += 1
        else:
            counts.created += 1
        objs.append(
            model(
                account=account,
                **{**row, "external_id": ext_id},
                fingerprint=fp,
                synced_at=now,
                removed_at=None,
            )
        )
    if objs:
        # Only what the vendor sent is overwritten; local-only fields keep their value.
        mapped = {k for r in by_id.values() for k in r} - {"account", "external_id"}
        update_fields = sorted(
            mapped | {"raw", "fingerprint", "synced_at", "removed_at"}
        )
        model.objects.bulk_create(
            objs,
            update_conflicts=True,
            unique_fields=["account", "external_id"],
            update_fields=update_fields,
            batch_size=500,
        )
    return counts


def mark_removed(model, account, seen_ids: set[str]) -> int:
    """Soft-delete rows of a full listing that the vendor no longer returns."""
    active = set(
        model.objects.filter(account=account, removed_at__isnull=True).values_list(
            "external_id", flat=True
        )
    )
    gone = list(active - {str(i) for i in seen_ids})
    now = timezone.now()
    with transaction.atomic():
        for i in range(0, len(gone), BATCH):
            model.objects.filter(
                account=account, external_id__in=gone[i : i + BATCH]
            ).update(removed_at=now)
    return len(gone)


def reconcile(model, account, rows: Iterable[dict]) -> Counts:
    """Apply a full listing: upsert every row, mark the missing ones removed."""
    rows = list(rows)
    counts = upsert(model, account, rows)
    counts.removed = mark_removed(model, account, {str(r["external_id"]) for r in rows})
    return counts
