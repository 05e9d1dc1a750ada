"""The benchmarks' own PostgreSQL databases.

A benchmark never touches the database DATABASE_URL names: it works in databases
whose names are derived from it (`<name>_bench_<scenario>`), says so in its
output, and drops and recreates only those.
"""

from __future__ import annotations


def derived_url(base: str, suffix: str) -> str:
    """`postgres://…/portal?x` → `postgres://…/portal_bench_<suffix>` (no query)."""
    root, name = base.rsplit("/", 1)
    name = name.split("?")[0] or "cobrowse"
    return f"{root}/{name}_bench_{suffix}"


def recreate(url: str, *, drop_only: bool = False) -> None:
    """Drop (and unless `drop_only`, create) the benchmark database `url` names.

    Only derived names are accepted, so a mistake can never drop a real database."""
    import psycopg

    root, name = url.rsplit("/", 1)
    if "_bench_" not in name:
        raise ValueError(f"refusing to drop {name!r}: not a benchmark database")
    with psycopg.connect(f"{root}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')
