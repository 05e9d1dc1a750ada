"""Running a stream: claim it, track it in a SyncRun, keep its cursor.

`execute_stream()` is the one entry point the Celery task, the `sync_account`
command and tests call. A stream function receives a `RunContext` and only maps
vendor pages onto models (through `bulk.upsert`/`bulk.reconcile`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone

from cobrowse_portal.core.choices import AccountStatus, RunStatus, Trigger
from cobrowse_portal.core.models import SyncClaim, SyncCursor, SyncRun, VendorAccount
from cobrowse_portal.core.signals import run_finished

from . import errors, pagination, reconciliation
from .bulk import Counts
from .redaction import redact

log = logging.getLogger("cobrowse.vendorkit.runs")


# --- claims ------------------------------------------------------------------------
# Claims and flags are rows of SyncClaim, written with plain statements (one each,
# no model instance or query compilation: the webhook drain takes and frees a
# claim for every few events).
class _ClaimSQL:
    def __init__(self, connection) -> None:
        qn = connection.ops.quote_name
        self.table = table = qn(SyncClaim._meta.db_table)
        acc, stream, token, expires = (
            qn(n) for n in ("account_id", "stream", "token", "expires_at")
        )
        # An expired claim (its worker died) is taken over in the same statement;
        # between racing workers the row lock decides.
        self.acquire = (
            f"INSERT INTO {table} ({acc}, {stream}, {token}, {expires}) "
            f"VALUES (%s, %s, %s, %s) ON CONFLICT ({acc}, {stream}) DO UPDATE SET "
            f"{token} = EXCLUDED.{token}, {expires} = EXCLUDED.{expires} "
            f"WHERE {table}.{expires} < %s"
        )
        self.raised = (
            f"SELECT 1 FROM {table} WHERE {acc} = %s AND {stream} = %s "
            f"AND {expires} >= %s"
        )
        held = f"{acc} = %s AND {stream} = %s AND {token} = %s"
        self.refresh = f"UPDATE {table} SET {expires} = %s WHERE {held}"
        self.release = f"DELETE FROM {table} WHERE {held}"
        self.release_and_lower = (
            f"DELETE FROM {table} WHERE {acc} = %s AND "
            f"(({stream} = %s AND {token} = %s) OR {stream} = %s)"
        )
        self.lower = f"DELETE FROM {table} WHERE {acc} = %s AND {stream} = %s"


_claim_sql: dict[str, _ClaimSQL] = {}


def _claims():
    """(connection, its statements) for SyncClaim rows."""
    connection = connections[router.db_for_write(SyncClaim)]
    sql = _claim_sql.get(connection.vendor)
    if sql is None:
        sql = _claim_sql[connection.vendor] = _ClaimSQL(connection)
    return connection, sql


def _run(statement: str, params: list) -> int:
    connection, _ = _claims()
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _when(value):
    connection, _ = _claims()
    return connection.ops.adapt_datetimefield_value(value)


@dataclass
class Claim:
    account_id: int
    stream: str
    token: str

    def heartbeat(self) -> None:
        """Push the expiry forward; called after every page."""
        _, sql = _claims()
        _run(
            sql.refresh,
            [_when(_claim_expiry()), self.account_id, self.stream, self.token],
        )

    def release(self, *, lower: str | None = None) -> None:
        """Give the claim up (and, with `lower`, lower that flag of the account
        in the same statement)."""
        _, sql = _claims()
        if lower is None:
            _run(sql.release, [self.account_id, self.stream, self.token])
        else:
            _run(
                sql.release_and_lower,
                [self.account_id, self.stream, self.token, lower],
            )


def _claim_expiry():
    return timezone.now() + timedelta(seconds=settings.SYNC_CLAIM_TTL_SECONDS)


def acquire_claim(account_id: int, stream: str) -> Claim | None:
    """Take the (account, stream) claim, or None if a live run holds it.

    One statement: the unique constraint decides between racing workers, and an
    expired claim (its worker crashed) is taken over.
    """
    _, sql = _claims()
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = _run(
        sql.acquire,
        [account_id, stream, token, _when(_claim_expiry()), _when(now)],
    )
    return Claim(account_id, stream, token) if taken == 1 else None


# --- flags -------------------------------------------------------------------------
# A flag is a claim row nobody runs under: "a task for this account is queued".
# Raising it is one statement (INSERT ... ON CONFLICT ... WHERE expired), atomic on
# every database and shared by every process (unlike a local-memory cache).
def raise_flag(account_id: int, name: str, ttl: int) -> bool:
    """Set the (account, name) flag; True if we set it, False if a live one was set."""
    connection, sql = _claims()
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    # Mostly the flag is up (a burst): a plain read answers that without a write
    # (an upsert that changes nothing still locks the row and commits). A flag
    # lowered right after this read is the same as one lowered right after a
    # no-op upsert: the task that lowered it has yet to look for our event.
    with connection.cursor() as cursor:
        cursor.execute(sql.raised, [account_id, name, adapt(now)])
        if cursor.fetchone():
            return False
    params = [account_id, name, "flag", adapt(now + timedelta(seconds=ttl)), adapt(now)]
    return _run(sql.acquire, params) == 1


def lower_flag(account_id: int, name: str) -> None:
    _, sql = _claims()
    _run(sql.lower, [account_id, name])


# --- cursors -----------------------------------------------------------------------
def load_cursor(account_id: int, stream: str) -> dict[str, Any]:
    row = SyncCursor.objects.filter(account_id=account_id, stream=stream).first()
    return dict(row.value) if row else {}


def save_cursor(account_id: int, stream: str, value: dict[str, Any]) -> None:
    SyncCursor.objects.update_or_create(
        account_id=account_id, stream=stream, defaults={"value": value}
    )


# --- the run -------------------------------------------------------------------------
@dataclass
class RunContext:
    """What a stream function gets: the account, its client, cursor and counters."""

    account: VendorAccount
    stream: str
    run: SyncRun
    client: Any
    claim: Claim | None = None
    counts: Counts = field(default_factory=Counts)
    pages: int = 0

    @property
    def cursor(self) -> dict[str, Any]:
        return load_cursor(self.account.pk, self.stream)

    def save_cursor(self, value: dict[str, Any]) -> None:
        save_cursor(self.account.pk, self.stream, value)

    def add(self, counts: Counts) -> None:
        self.counts += counts

    def page_done(self, cursor: dict[str, Any] | None = None) -> None:
        """Record a page: save the cursor, refresh the claim, publish progress."""
        self.pages += 1
        with transaction.atomic():  # one commit per page, not three
            if cursor is not None:
                self.save_cursor(cursor)
            if self.claim:
                self.claim.heartbeat()
            self._write_progress()

    def _write_progress(self) -> None:
        SyncRun.objects.filter(pk=self.run.pk).update(
            heartbeat_at=timezone.now(),  # the sweeper fails runs whose beat stops
            created=self.counts.created,
            updated=self.counts.updated,
            unchanged=self.counts.unchanged,
            removed=self.counts.removed,
            pages=self.pages,
            requests=self.client.requests_made,
        )


def queue_run(account: VendorAccount, stream: str, trigger: str) -> SyncRun:
    return SyncRun.objects.create(account=account, stream=stream, trigger=trigger)


def execute_stream(
    account_id: int,
    stream: str,
    *,
    trigger: str = Trigger.SCHEDULED,
    run_id: int | None = None,
) -> SyncRun | None:
    """Run one stream of one account now, recording everything in a SyncRun."""
    account = VendorAccount.objects.select_related("workspace").get(pk=account_id)
    run = (
        SyncRun.objects.get(pk=run_id)
        if run_id
        else SyncRun(account=account, stream=stream, trigger=trigger)
    )
    if not account.enabled or account.needs_attention:
        # Credentials were rejected: stop hammering the vendor until they change.
        if run.pk:
            _finish(run, RunStatus.SKIPPED, "account disabled or needs attention")
        return run if run.pk else None
    claim = acquire_claim(account.pk, stream)
    if claim is None:
        run.save()
        _finish(run, RunStatus.SKIPPED, "another run of this stream is in progress")
        return run
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.heartbeat_at = run.started_at
    run.save()
    spec = account.spec
    client = spec.client_for(account)
    ctx = RunContext(
        account=account, stream=stream, run=run, client=client, claim=claim
    )
    try:
        try:
            with reconciliation.pulling(ctx):  # webhooks-versus-poll figures
                spec.stream_func(stream)(ctx)
        finally:
            # A stream that failed inside its page loop leaves its read-ahead
            # thread fetching until the generator is collected: stopped here,
            # before the run is recorded (and before a retry can start).
            pagination.stop_prefetching()
    except errors.AuthError as exc:
        _account_status(account, AccountStatus.NEEDS_ATTENTION, exc.user_message())
        _fail(ctx, f"credentials rejected: {exc.user_message()}")
    except errors.VendorError as exc:
        _account_status(account, AccountStatus.FAILING, exc.user_message())
        _fail(ctx, exc.message)
        # Not a field: tells the Celery task whether trying again soon can help.
        run.retry_after = getattr(exc, "retry_after", None) if exc.transient else None
        run.transient = exc.transient
    except Exception as exc:
        log.exception("stream %s of account %s crashed", stream, account.pk)
        _account_status(account, AccountStatus.FAILING, "internal error")
        _fail(ctx, f"internal error: {type(exc).__name__}: {redact(exc)}")
    else:
        ctx._write_progress()
        run.refresh_from_db()
        _finish(run, RunStatus.SUCCEEDED)
        VendorAccount.objects.filter(pk=account.pk).update(
            status=AccountStatus.OK, status_message="", last_synced_at=run.finished_at
        )
    finally:
        claim.release()
    run_finished.send_robust(sender=SyncRun, run=run, account=account)
    return run


#: What a run whose worker died says (its claim expired, so the next run starts,
#: and a resumable stream continues from the cursor saved after its last page).
DEAD_RUN_ERROR = "worker stopped; the next run resumes from the saved cursor"
NEVER_STARTED_ERROR = (
    "queued but never started (its task was lost); the next run resumes from "
    "the saved cursor"
)


def fail_dead_runs(now=None) -> int:
    """Fail runs whose worker died: running without a heartbeat for longer than the
    claim TTL (the claim has expired too), or queued for longer than that."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SYNC_CLAIM_TTL_SECONDS)
    running = SyncRun.objects.filter(status=RunStatus.RUNNING).filter(
        models.Q(heartbeat_at__lt=cutoff)
        | models.Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        | models.Q(
            heartbeat_at__isnull=True, started_at__isnull=True, queued_at__lt=cutoff
        )
    )
    failed = running.update(
        status=RunStatus.FAILED, error=DEAD_RUN_ERROR, finished_at=now
    )
    failed += SyncRun.objects.filter(
        status=RunStatus.QUEUED, queued_at__lt=cutoff
    ).update(status=RunStatus.FAILED, error=NEVER_STARTED_ERROR, finished_at=now)
    if failed:
        log.warning("failed %s runs whose worker stopped", failed)
    return failed


def _account_status(account: VendorAccount, status: str, message: str) -> None:
    VendorAccount.objects.filter(pk=account.pk).update(
        status=status, status_message=redact(message)[:500]
    )


class RejectedKeyGuard:
    """`with RejectedKeyGuard(account):` around a service's vendor calls: rejected
    credentials (`AuthError`) put the account in "needs attention" with the
    client's message, as a failed run does (the error still reaches the view)."""

    def __init__(self, account: VendorAccount) -> None:
        self.account = account

    def __enter__(self) -> RejectedKeyGuard:
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, errors.AuthError):
            _account_status(
                self.account, AccountStatus.NEEDS_ATTENTION, exc.user_message()
            )
        return False


def _fail(ctx: RunContext, message: str) -> None:
    ctx._write_progress()
    ctx.run.refresh_from_db()
    _finish(ctx.run, RunStatus.FAILED, message)
    log.warning("%s run %s failed: %s", ctx.stream, ctx.run.pk, message)


def _finish(run: SyncRun, status: str, error: str = "") -> None:
    run.status, run.error = status, redact(error)
    run.finished_at = timezone.now()
    run.save()
