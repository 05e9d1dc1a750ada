"""`reverse()` once per URL name, then string formatting: for links built per row
or per sidebar item, where `reverse()` itself is most of a page's rendering time.

`url_for("surfly:session_detail", account_id=3, pk=7)` returns what
`reverse("surfly:session_detail", kwargs={...})` returns, for integer arguments
only (an integer renders the same in every converter that accepts it). The
pattern is reversed with placeholder numbers and cached per URLconf and script
prefix, so tests that swap URLconfs and deployments under a sub-path stay right.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.urls import get_script_prefix, get_urlconf, reverse

# Never a real id in a URL and never a substring of the rest of one.
_PLACEHOLDER = 918273645546372
_patterns: dict[tuple, str] = {}
#: This thread's (URLconf, script prefix) inside a `held()` block.
_held = threading.local()


@contextmanager
def held() -> Iterator[None]:
    """Within it, this thread's URLconf and script prefix are read once, not on
    every `url_for()` (each read is a context-local lookup, which costs more than
    the formatting when links are built for a thousand rows of a batch). For
    code that changes neither inside the block."""
    if getattr(_held, "key", None) is not None:
        yield
        return
    _held.key = (get_urlconf(), get_script_prefix())
    try:
        yield
    finally:
        _held.key = None


def current_urlconf():
    """`get_urlconf()`, read once per `held()` block (per row it costs a
    context-local lookup)."""
    key = getattr(_held, "key", None)
    return key[0] if key is not None else get_urlconf()


def url_pattern(name: str, *keys: str, positional: int = 0) -> str:
    """The URL of `name` as a str.format() template with a {key} per argument
    (or, with `positional=n`, {0}…{n-1} for n positional arguments)."""
    base = getattr(_held, "key", None) or (get_urlconf(), get_script_prefix())
    cache_key = (*base, name, keys, positional)
    pattern = _patterns.get(cache_key)
    if pattern is None:
        if positional:
            kwargs = {str(i): _PLACEHOLDER + i for i in range(positional)}
            url = reverse(name, args=list(kwargs.values()))
        else:
            kwargs = {key: _PLACEHOLDER + i for i, key in enumerate(keys)}
            url = reverse(name, kwargs=kwargs)
        url = url.replace("{", "{{").replace("}", "}}")
        for key, value in kwargs.items():
            if url.count(str(value)) != 1:  # pragma: no cover - defensive
                raise ValueError(f"cannot template {name} on {key}")
            url = url.replace(str(value), "{" + key + "}")
        pattern = _patterns[cache_key] = url
    return pattern


#: url_for's templates by (URLconf and prefix, name, its keys in call order).
_by_call: dict[tuple, str] = {}


def url_for(name: str, **kwargs: int) -> str:
    """`reverse(name, kwargs=kwargs)` for integer kwargs, without resolving again.

    Called per row when a batch's links are built: one dict lookup finds the
    template (no sorting of the keys, no second cache key)."""
    base = getattr(_held, "key", None) or (get_urlconf(), get_script_prefix())
    call = (base, name, tuple(kwargs))
    pattern = _by_call.get(call)
    if pattern is None:
        pattern = _by_call[call] = url_pattern(name, *sorted(kwargs))
    for key, value in kwargs.items():
        if type(value) is not int:
            raise TypeError(f"url_for takes integer arguments only ({key}={value!r})")
    return pattern.format_map(kwargs)


def url_args(name: str, *args: int) -> str:
    """`reverse(name, args=args)` for integer args, without resolving again."""
    for value in args:
        if type(value) is not int:
            raise TypeError(f"url_args takes integer arguments only ({value!r})")
    return url_pattern(name, positional=len(args)).format(*args)
