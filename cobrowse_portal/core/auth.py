"""The authentication backend: Django's ModelBackend, whose per-request user lookup
also brings the user's open workspaces with the roles there, in the same query.

Every page needs both (AuthenticationMiddleware loads the user, WorkspaceMiddleware
its workspaces): one statement instead of two, which on PostgreSQL is one round trip
and one parse and plan fewer per request. The SQL is the ORM's own for the user and
for `open_workspaces`, written once per database with a placeholder for the user's
pk (as `open_workspaces` is) and joined: the user's row repeats beside each workspace
row, or stands alone with empty workspace columns when there is none.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connections, router

from .models import Workspace, _open_workspaces_query, effective_roles

#: Stands for the user's pk while the ORM writes the SQL; never a real pk.
_PLACEHOLDER = -918273646
_sql: dict[tuple[str, str], tuple[str, tuple, int]] = {}


def _plan(using: str) -> tuple[str, tuple, int]:
    key = (using, connections[using].vendor)
    plan = _sql.get(key)
    if plan is None:
        users = get_user_model()._default_manager.db_manager(using)
        user_sql, user_params = (
            users.filter(pk=_PLACEHOLDER).query.get_compiler(using=using).as_sql()
        )
        ws_sql, ws_params = (
            _open_workspaces_query(_PLACEHOLDER)
            .query.get_compiler(using=using)
            .as_sql()
        )
        assert _PLACEHOLDER in user_params and _PLACEHOLDER in ws_params
        columns = len(get_user_model()._meta.concrete_fields)
        sql = (
            f"SELECT u.*, w.* FROM ({user_sql}) u LEFT JOIN ({ws_sql}) w ON 1 = 1 "
            'ORDER BY w."name", w."id"'
        )
        plan = _sql[key] = (sql, (*user_params, *ws_params), columns)
    return plan


def user_with_workspaces(user_id) -> tuple[object | None, list]:
    """The user of pk `user_id` (None if there is none) and `open_workspaces(user)`,
    from one query."""
    User = get_user_model()
    try:
        pk = User._meta.pk.to_python(user_id)
    except (ValidationError, TypeError, ValueError):  # a malformed session value
        return None, []
    using = router.db_for_read(User)
    sql, params, columns = _plan(using)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [pk if p == _PLACEHOLDER else p for p in params])
        names = [d[0] for d in cursor.description][columns:]
        rows = cursor.fetchall()
    if not rows:
        return None, []
    connection = connections[using]
    user_fields = User._meta.concrete_fields
    user = User.from_db(
        using,
        [f.attname for f in user_fields],
        _convert(connection, user_fields, rows[0][:columns]),
    )
    ws_fields = {f.column: f for f in Workspace._meta.concrete_fields}
    opened = []
    for row in rows:
        values = dict(zip(names, row[columns:], strict=True))
        if values["id"] is None:
            continue  # the user alone: no workspace to open
        fields = [ws_fields[n] for n in names if n in ws_fields]
        workspace = Workspace.from_db(
            using,
            [f.attname for f in fields],
            _convert(connection, fields, [values[f.column] for f in fields]),
        )
        workspace.own_role, workspace.parent_role = (
            values["own_role"],
            values["parent_role"],
        )
        opened.append(workspace)
    return user, effective_roles(opened)


def _convert(connection, fields, values) -> list:
    """Column values as the ORM would return them (SQLite's datetimes and
    booleans; PostgreSQL's need nothing but the fields' own converters)."""
    ops = connection.ops
    out = []
    for field, value in zip(fields, values, strict=True):
        expression = field.get_col(field.model._meta.db_table)
        for convert in ops.get_db_converters(expression) + field.get_db_converters(
            connection
        ):
            value = convert(value, expression, connection)
        out.append(value)
    return out


class PortalBackend(ModelBackend):
    """ModelBackend (passwords, permissions, `is_active`), whose `get_user` reads
    the user's open workspaces in the same query; WorkspaceMiddleware takes them
    from the user instead of asking again."""

    def get_user(self, user_id):
        user, opened = user_with_workspaces(user_id)
        if user is None or not self.user_can_authenticate(user):
            return None
        user._open_workspaces = opened
        return user
