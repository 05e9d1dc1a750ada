"""The benchmarks work in databases named after DATABASE_URL's, never in it."""

import pytest

from tests.benchmarks.databases import derived_url, recreate


def test_benchmark_databases_are_derived_from_the_given_name():
    base = "postgres://u:p@db.example:5432/portal?sslmode=require"
    assert (
        derived_url(base, "sync") == "postgres://u:p@db.example:5432/portal_bench_sync"
    )
    assert derived_url("postgres://h/", "hooks") == "postgres://h/cobrowse_bench_hooks"


def test_a_database_that_is_not_a_benchmark_one_is_never_dropped():
    with pytest.raises(ValueError, match="not a benchmark database"):
        recreate("postgres://postgres@127.0.0.1:5432/portal")
