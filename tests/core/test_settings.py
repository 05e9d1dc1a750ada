"""Production settings refuse unsafe values, pass `check --deploy`, and every page
carries the security headers and a strict CSP (htmx from our own static files)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from .urlwalk import all_pages, get_allowed, url_for

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "Zq8" + "x7PvL2mN9bT4rW6yK1cF5hJ3gD0sA" * 2 + "-prod"
FERNET_KEY = "gkQp2b2mI5cH4h0jHcJ9H8hF7y6sZ1k2m3n4o5p6q7E="

#: What production sets (README "Production"): `check --deploy` passes with these.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": STRONG_KEY,
    "ENCRYPTION_KEYS": FERNET_KEY,
    "SANDBOX_ENABLED": "false",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_COOKIES": "true",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "portal.example.com",
}


def run_django(args: list[str], tmp_path, **env_values) -> subprocess.CompletedProcess:
    """Run Python in a fresh process with exactly these settings variables.

    Every variable the settings read from `.env` is given explicitly (empty when
    not named), so a developer's `.env` cannot change the outcome."""
    names = [
        "DEBUG",
        "SECRET_KEY",
        "ENCRYPTION_KEYS",
        "ALLOWED_HOSTS",
        "SANDBOX_ENABLED",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",  # empty: the default
        "SECURE_HSTS_PRELOAD",
        "SECURE_COOKIES",
        "CELERY_BROKER_URL",
        "CSRF_TRUSTED_ORIGINS",
        "BEHIND_TLS_PROXY",
        "VENDOR_RATE_LIMITS",
        "CELERY_TASK_ALWAYS_EAGER",
        "EMAIL_URL",
        "DEFAULT_FROM_EMAIL",
    ]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "cobrowse_portal.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "SECURE_HSTS_SECONDS": "0",
        **{n: "" for n in names if n not in ("SECURE_HSTS_SECONDS",)},
    }
    for name in (
        "DEBUG",
        "SANDBOX_ENABLED",
        "SECURE_SSL_REDIRECT",
        "SECURE_COOKIES",
        "BEHIND_TLS_PROXY",
        "CELERY_TASK_ALWAYS_EAGER",
    ):
        env[name] = "false"
    env["CELERY_BROKER_URL"] = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    env["ALLOWED_HOSTS"] = "localhost"
    env.update(env_values)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


SETUP = ["-c", "import django; django.setup(); print('started')"]


@pytest.mark.parametrize(
    ("secret", "keys", "complaint"),
    [
        ("", FERNET_KEY, "SECRET_KEY is missing or insecure"),
        ("insecure-development-key-change-me", FERNET_KEY, "SECRET_KEY"),
        ("django-insecure-" + "a1b2c3d4e5" * 6, FERNET_KEY, "SECRET_KEY"),
        ("short-but-random-Zq8x7P", FERNET_KEY, "SECRET_KEY"),
        ("ab" * 40, FERNET_KEY, "SECRET_KEY"),  # long, but 2 distinct characters
        (STRONG_KEY, "", "ENCRYPTION_KEYS is not set"),
        (STRONG_KEY, "not-a-fernet-key", "ENCRYPTION_KEYS entry 1 is not a Fernet key"),
        (STRONG_KEY, f"{FERNET_KEY},nope", "ENCRYPTION_KEYS entry 2"),
    ],
    ids=[
        "empty",
        "default",
        "django-insecure",
        "short",
        "low-entropy",
        "no-keys",
        "bad-key",
        "bad-second-key",
    ],
)
def test_debug_off_refuses_unsafe_secrets(tmp_path, secret, keys, complaint):
    result = run_django(SETUP, tmp_path, SECRET_KEY=secret, ENCRYPTION_KEYS=keys)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr
    assert secret not in result.stderr or not secret  # never echoes the value


def test_debug_off_starts_with_safe_secrets(tmp_path):
    result = run_django(
        SETUP, tmp_path, SECRET_KEY=STRONG_KEY, ENCRYPTION_KEYS=FERNET_KEY
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_debug_on_starts_without_secrets(tmp_path):
    result = run_django(
        SETUP, tmp_path, DEBUG="true", SECRET_KEY="", ENCRYPTION_KEYS=""
    )
    assert result.returncode == 0, result.stderr


DEPLOY_CHECK = ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]


@pytest.mark.parametrize(
    "extra",
    [
        {},
        # The README's full production block: behind a TLS proxy, with PostgreSQL
        # and Redis URLs (the check connects to neither).
        {
            "BEHIND_TLS_PROXY": "true",
            "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
            "DATABASE_URL": "postgres://portal:pw@127.0.0.1:5432/portal",
            "CACHE_URL": "redis://127.0.0.1:6379/1",
        },
    ],
    ids=["brief", "readme"],
)
def test_check_deploy_passes_with_the_production_values(tmp_path, extra):
    result = run_django(DEPLOY_CHECK, tmp_path, **PRODUCTION, **extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        ({"SANDBOX_ENABLED": "true"}, "portal.W001"),
        ({"CELERY_BROKER_URL": "sqla+sqlite:///broker.sqlite3"}, "portal.W002"),
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"SECURE_COOKIES": "false"}, "security.W012"),
    ],
    ids=[
        "sandbox-on",
        "embedded-broker",
        "no-hsts",
        "no-ssl-redirect",
        "plain-cookies",
    ],
)
def test_check_deploy_fails_on_each_unsafe_value(tmp_path, change, warning):
    result = run_django(DEPLOY_CHECK, tmp_path, **{**PRODUCTION, **change})
    assert result.returncode != 0
    assert warning in result.stderr + result.stdout


# --- headers and CSP on pages ---------------------------------------------------------
def test_security_headers_on_pages(portal, client):
    client.force_login(portal.personas["admin"])
    for url in (
        reverse("core:dashboard"),
        reverse("login"),
        reverse("core:account_detail", args=[portal.account.pk]),
    ):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        ):
            assert directive in csp, (url, directive)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert "HX-Request" in response["Vary"]


def test_hsts_header_when_configured(client, db):
    with override_settings(
        SECURE_HSTS_SECONDS=31536000,
        SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
        SECURE_HSTS_PRELOAD=True,
    ):
        response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )


def test_session_cookie_is_httponly(client, personas):
    from tests.conftest import PASSWORD

    response = client.post(reverse("login"), {"username": "ada", "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies[settings.SESSION_COOKIE_NAME]["httponly"]


SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def test_every_page_loads_scripts_only_from_our_static_files(
    portal, client, no_network
):
    """htmx comes from /static/ (no CDN); no inline script (JSON data blocks
    aside), inline style or hx-on attribute, which the CSP would block."""
    client.force_login(portal.personas["admin"])
    seen_htmx = False
    for page in all_pages():
        if not get_allowed(page) or page.name.startswith("admin:"):
            continue
        url, _ = url_for(page, portal.accounts, portal.run)
        response = client.get(url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        html = response.content.decode()
        for attrs, inline in SCRIPT.findall(html):
            if 'type="application/json"' in attrs:
                continue  # json_script data: never executed, so the CSP allows it
            src = re.search(r'src="([^"]+)"', attrs)
            assert src, f"inline <script> on {url}: {inline[:80]!r}"
            assert src.group(1).startswith(
                settings.STATIC_URL
                if settings.STATIC_URL.startswith("/")
                else "/" + settings.STATIC_URL
            ), (url, src)
            assert not inline.strip(), url
            seen_htmx |= "htmx" in src.group(1)
        assert not re.search(r"\sstyle=", html), f"inline style attribute on {url}"
        assert not re.search(r"\shx-on[:-]", html), f"hx-on attribute on {url}"
        assert "//cdn" not in html and "unpkg.com" not in html, url
    assert seen_htmx


def test_htmx_script_is_served(client, db):
    from django.contrib.staticfiles import finders

    assert finders.find("django_htmx/htmx-2.min.js") or finders.find(
        "django_htmx/htmx.min.js"
    )
    response = client.get(reverse("login"))
    assert re.search(
        r'src="/static/django_htmx/htmx[^"]*\.js"', response.content.decode()
    )


# --- the documented production environment, with and without a `.env` ---------------
def readme_production_env() -> dict[str, str]:
    """The `export` lines of README's "Production deployment" block, with its `...`
    placeholders filled in."""
    import shlex

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Production deployment", 1)[1].split("\n## ", 1)[0]
    values: dict[str, str] = {}
    for line in section.splitlines():
        if not line.startswith("export "):
            continue
        for token in shlex.split(line.split("#", 1)[0])[1:]:
            name, _, value = token.partition("=")
            values[name] = value
    fill = {"SECRET_KEY": STRONG_KEY, "ENCRYPTION_KEYS": FERNET_KEY}
    for name, value in values.items():
        if name in fill:
            values[name] = fill[name]
        elif "..." in value:
            values[name] = value.replace("...", "pw")
    return values


def project_copy(tmp_path, dotenv: str | None) -> Path:
    """The project's code in `tmp_path/app`, with `dotenv` as its `.env` (settings
    read `.env` next to the code, so a developer's own `.env` stays out of it)."""
    import shutil

    app = tmp_path / "app"
    ignore = shutil.ignore_patterns("__pycache__", "*.sqlite3*", "var")
    for part in ("cobrowse_portal", "vendors", "templates", "static"):
        shutil.copytree(ROOT / part, app / part, ignore=ignore)
    shutil.copy(ROOT / "manage.py", app / "manage.py")
    # The front-end libraries `make assets` installs (STATICFILES_DIRS names them;
    # without them `check` warns staticfiles.W004, as a deployment should hear).
    (app / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    if dotenv is not None:
        (app / ".env").write_text(dotenv)
    return app


def run_in(app: Path, args: list[str], **env_values) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(app.parent),
        "DJANGO_SETTINGS_MODULE": "cobrowse_portal.settings",
        **env_values,
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_readme_production_block_is_complete():
    env = readme_production_env()
    for name in ("DEBUG", "SECRET_KEY", "SECURE_HSTS_SECONDS", "DATABASE_URL"):
        assert name in env, name
    assert env["DEBUG"] == "false" and env["SECURE_HSTS_SECONDS"] == "31536000"


def _env_example() -> str:
    return (ROOT / ".env.example").read_text()


def _make_run_dotenv() -> str:
    from cobrowse_portal.envfile import render

    return render(_env_example())


@pytest.mark.parametrize(
    "dotenv",
    [None, "make-run", "copied"],
    ids=["no-dotenv", "dotenv-from-make-run", "dotenv-copied-from-example"],
)
def test_check_deploy_passes_with_the_readme_production_environment(tmp_path, dotenv):
    """README: "python manage.py check --deploy --fail-level WARNING" passes with the
    exports shown there, also where `make run` wrote a `.env` (or one was copied from
    `.env.example`): the environment wins, and `.env`'s HSTS flags mean "default"."""
    text = {None: None, "make-run": _make_run_dotenv(), "copied": _env_example()}
    app = project_copy(tmp_path, text[dotenv])
    env = readme_production_env()
    # The check connects to no database or broker; SQLite keeps it off the network.
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    env["SANDBOX_DATABASE_URL"] = f"sqlite:///{tmp_path / 'sandbox.sqlite3'}"
    result = run_in(app, DEPLOY_CHECK, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    shown = run_in(
        app,
        [
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
            "s.SECURE_HSTS_PRELOAD, s.DEBUG)",
        ],
        **env,
    )
    assert shown.stdout.split("\n")[-2] == "31536000 True True False", shown.stderr


def test_make_run_is_the_product_on_plain_http_localhost(tmp_path):
    """The embedded default: `make run`'s `.env` alone. DEBUG is off (the portal's
    own error pages, static files from whitenoise after collectstatic), and no HTTPS
    anywhere: plain-HTTP cookies work on localhost."""
    app = project_copy(tmp_path, _make_run_dotenv())
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from django.test import Client; c = Client(); "
        "r = c.get('/login/', HTTP_HOST='127.0.0.1'); "
        "missing = c.get('/no-such-page/', HTTP_HOST='127.0.0.1'); "
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, "
        "s.SESSION_COOKIE_SECURE, r.status_code, "
        "r.has_header('Strict-Transport-Security')); "
        "print(missing.status_code, b'<h1>Not found</h1>' in missing.content, "
        "b'Technical' in missing.content, b'URLconf' in missing.content)"
    )
    (app / "var").mkdir(exist_ok=True)
    assert run_in(app, ["manage.py", "migrate", "-v0"]).returncode == 0
    static = run_in(app, ["manage.py", "collectstatic", "--noinput", "-v0"])
    assert static.returncode == 0, static.stderr
    result = run_in(app, ["-c", code])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[-3] == "False False 0 False False False 200 False"
    assert lines[-2] == "404 True False False"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", "True True"), ("false", "False False"), ("true", "True True")],
)
def test_hsts_flags_empty_means_default(tmp_path, value, expected):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)"
    )
    result = run_django(
        ["-c", code],
        tmp_path,
        DEBUG="true",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS=value,
        SECURE_HSTS_PRELOAD=value,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == expected


EMAIL_SHOW = [
    "-c",
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.EMAIL_BACKEND, s.EMAIL_HOST if 'smtp' in s.EMAIL_BACKEND else "
    "s.EMAIL_FILE_PATH, getattr(s, 'EMAIL_PORT', ''), "
    "getattr(s, 'EMAIL_USE_TLS', ''), getattr(s, 'EMAIL_HOST_USER', ''), "
    "s.DEFAULT_FROM_EMAIL, sep='|')",
]


def test_email_default_is_the_outbox_folder(tmp_path):
    result = run_django(EMAIL_SHOW, tmp_path, DEBUG="true")
    backend, path, *_rest, sender = result.stdout.strip().split("|")
    assert backend == "cobrowse_portal.reports.mail.OutboxFileBackend", result.stderr
    assert path == str(ROOT / "var" / "outbox")
    assert sender == "Cobrowse Portal <reports@localhost>"


def test_email_url_configures_smtp(tmp_path):
    result = run_django(
        EMAIL_SHOW,
        tmp_path,
        DEBUG="true",
        EMAIL_URL="smtp+tls://mailer:s3cret@smtp.example.com:587",
        DEFAULT_FROM_EMAIL="Portal <portal@example.com>",
    )
    assert result.stdout.strip().split("|") == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "587",
        "True",
        "mailer",
        "Portal <portal@example.com>",
    ], result.stderr
