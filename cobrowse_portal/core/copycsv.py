"""PostgreSQL writes the Activity CSV itself: `COPY (SELECT ...) TO STDOUT WITH
(FORMAT csv)` over the export's own queryset, streamed as the database sends it.

The Python path (`core.views.control.python_csv_lines`) spends most of its time
turning every row into Python objects (psycopg's timestamptz loader, JSON
decoding) and back into text; here the database formats each cell with the same
rules and Python only passes bytes on. Same bytes as the Python path
(`tests/core/test_activity_csv.py` compares them):

- quoting: COPY's CSV quotes a value holding a comma, a quote, CR or LF and
  doubles its quotes, as Python's `csv.QUOTE_MINIMAL` does. COPY quotes an empty
  string (to tell it from NULL), Python does not: every empty cell is sent as
  NULL (`NULLIF`), which COPY writes as nothing;
- rows end with LF in COPY and CRLF in Python's csv: PostgreSQL sends one
  CopyData message per row ("messages sent from the backend will always
  correspond to single data rows", protocol docs, COPY Operations), so each
  message's final LF becomes CRLF; a line break inside a quoted cell stays as is,
  as in Python;
- formula escaping (`_cell`): a leading `= + - @ TAB CR` gets a `'` prefix;
- times: `isoformat()` in the workspace's time zone: `YYYY-MM-DDTHH:MM:SS`, then
  `.ffffff` unless the microseconds are 0, then the UTC offset `+HH:MM`, with
  `:SS` where the offset has seconds (historical zones). PostgreSQL's time zone
  data is used, so a zone it lacks leaves the export to Python;
- tags: the JSON list's strings joined by ", " (the write path stores strings
  only); a lone JSON string stands for itself, as in the Python path;
- account names and vendor labels are looked up in Python once per export and
  passed as parameters.
"""

from __future__ import annotations

from django.db import connections

#: First characters a spreadsheet would run as a formula (`control._cell`).
FORMULA_SQL = "('=', '+', '-', '@', chr(9), chr(13))"


def _cell(expr: str) -> str:
    """`control._cell` in SQL for a plain column: '' for NULL and for empty."""
    return (
        f"CASE WHEN left({expr}, 1) IN {FORMULA_SQL} THEN '''' || {expr} "
        f"ELSE NULLIF({expr}, '') END"
    )


def _when(col: str) -> tuple[str, int]:
    """`value.astimezone(tz).isoformat()` in SQL; the SQL and how many times it
    takes the zone name as a parameter."""
    local = f"({col} AT TIME ZONE %s)"
    offset = f"({local} - ({col} AT TIME ZONE 'UTC'))"
    sql = (
        f"to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        f"|| CASE WHEN date_trunc('second', {col}) = {col} THEN '' "
        f"ELSE to_char({col}, '.US') END "
        f"|| CASE WHEN {offset} < interval '0' "
        f"THEN '-' || to_char(-{offset}, 'HH24:MI') "
        f"|| COALESCE(NULLIF(to_char(-{offset}, ':SS'), ':00'), '') "
        f"ELSE '+' || to_char({offset}, 'HH24:MI') "
        f"|| COALESCE(NULLIF(to_char({offset}, ':SS'), ':00'), '') END"
    )
    return sql, sql.count("%s")


#: The tags cell: the list's strings joined by ", ", formula-escaped by its first
#: character (the first tag's); an empty list is NULL.
TAGS_SQL = (
    "CASE jsonb_typeof(a.tags) "
    "WHEN 'array' THEN CASE WHEN a.tags = '[]'::jsonb THEN NULL ELSE "
    f"CASE WHEN left(a.tags ->> 0, 1) IN {FORMULA_SQL} THEN '''' ELSE '' END "
    "|| array_to_string(ARRAY(SELECT jsonb_array_elements_text(a.tags)), ', ') "
    "END "
    "WHEN 'string' THEN "
    f"CASE WHEN left(a.tags #>> '{{}}', 1) IN {FORMULA_SQL} THEN '''' ELSE '' END "
    "|| NULLIF(NULLIF(a.tags #>> '{}', '[]'), '') "
    "END"
)


def _lookup(column: str, mapping: dict, default: str) -> tuple[str, list]:
    """`CASE column WHEN k THEN v ... ELSE default END` with bound values."""
    if not mapping:
        return default, []
    parts, params = [], []
    for key, value in mapping.items():
        parts.append("WHEN %s THEN %s")
        params += [key, value]
    return f"CASE {column} {' '.join(parts)} ELSE {default} END", params


def copy_statement(qs, labels: dict, names: dict, zone: str) -> tuple[str, list]:
    """The COPY statement and its parameters for the export of `qs`.

    `labels`: vendor slug -> label (others show their slug); `names`: account id
    -> its CSV cell, already formula-escaped (others show nothing); `zone`: an
    IANA name PostgreSQL knows."""
    inner = qs.order_by().values_list(
        "vendor",
        "account_id",
        "kind",
        "external_id",
        "status",
        "started_at",
        "ended_at",
        "duration",
        "agent_name",
        "visitor",
        "url",
        "title",
        "tags",
        "id",
    )
    inner_sql, inner_params = inner.query.get_compiler(using=qs.db).as_sql()
    label_sql, label_params = _lookup("a.vendor", labels, "a.vendor")
    name_sql, name_params = _lookup(
        "a.account_id", {k: v or None for k, v in names.items()}, "NULL"
    )
    started, n_started = _when("a.started_at")
    ended, n_ended = _when("a.ended_at")
    columns = [
        f"NULLIF({label_sql}, '')",
        name_sql,
        "NULLIF(a.kind, '')",
        _cell("a.external_id"),
        "NULLIF(a.status, '')",
        started,
        ended,
        "a.duration",
        _cell("a.agent_name"),
        _cell("a.visitor"),
        _cell("a.url"),
        _cell("a.title"),
        TAGS_SQL,
    ]
    sql = (
        f"COPY (SELECT {', '.join(columns)} FROM ({inner_sql}) AS a "
        "ORDER BY a.started_at DESC NULLS FIRST, a.id DESC) "
        "TO STDOUT WITH (FORMAT csv)"
    )
    params = [
        *label_params,
        *name_params,
        *[zone] * n_started,
        *[zone] * n_ended,
        *inner_params,
    ]
    return sql, params


def copy_csv_chunks(qs, labels: dict, names: dict, zone: str, chunk_rows: int):
    """The rows of `qs` as CSV bytes, `chunk_rows` rows a chunk (CRLF line ends);
    nothing held beyond one chunk. Closing the generator early (a client gone)
    cancels the COPY (psycopg does on leaving its block with an exception).
    Until then the connection is busy with the COPY (psycopg holds its lock):
    nothing else may use it while the response streams, as with any cursor."""
    sql, params = copy_statement(qs, labels, names, zone)
    with connections[qs.db].cursor() as cursor, cursor.cursor.copy(sql, params) as copy:
        rows: list = []
        append = rows.append
        for data in copy:
            append(data[:-1])  # the row's LF; rejoined with CRLF below
            if len(rows) == chunk_rows:
                rows.append(b"")
                yield b"\r\n".join(rows)
                rows = []
                append = rows.append
        if rows:
            rows.append(b"")
            yield b"\r\n".join(rows)
