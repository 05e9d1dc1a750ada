"""Settings for Cobrowse Portal, all read from the environment (django-environ).

Every variable is listed with its default in `.env.example` and in the README's
configuration table. The embedded default (no variables set) is SQLite for data,
a SQLite file as the Celery broker and the database as the cache, so `make run`
needs nothing but Python. Production sets DATABASE_URL, CELERY_BROKER_URL and
CACHE_URL to PostgreSQL and Redis.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

INSECURE_SECRET_KEY = "insecure-development-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_SECRET_KEY)
# Comma-separated Fernet keys: the first encrypts, all decrypt (key rotation).
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS", default=[])


def _check_production_secrets() -> None:
    """Refuse to start with DEBUG off on an insecure secret or no encryption key."""
    if DEBUG:
        return
    if (
        SECRET_KEY == INSECURE_SECRET_KEY
        or SECRET_KEY.startswith("django-insecure")
        or len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5
    ):
        raise ImproperlyConfigured(
            "SECRET_KEY is missing or insecure; set a random value of 50+ characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )
    if not ENCRYPTION_KEYS:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS is not set; vendor credentials cannot be encrypted. "
            "Generate one with `python manage.py generate_encryption_key`."
        )


_check_production_secrets()


def _check_encryption_keys() -> None:
    """A malformed key would only fail at the first credential save; fail at start."""
    from cryptography.fernet import Fernet

    for position, key in enumerate(ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise ImproperlyConfigured(
                f"ENCRYPTION_KEYS entry {position} is not a Fernet key (32 url-safe "
                "base64 bytes); generate one with "
                "`python manage.py generate_encryption_key`."
            ) from None


_check_encryption_keys()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Vendor sandboxes (fake vendor APIs under /sandbox/<vendor>/): on for the demo,
# off in production.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
# The sandbox's own answer to "100 requests/minute per client address"; "off" lifts it.
SANDBOX_RATE_LIMIT = env.str("SANDBOX_RATE_LIMIT", default="100/m")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "csp",
    "axes",
    "cobrowse_portal.core",
    "cobrowse_portal.vendorkit",
    "cobrowse_portal.vendorkit.sandbox",
    "cobrowse_portal.provisioning",
    "cobrowse_portal.alerts",
    "cobrowse_portal.reports",
    "vendors.surfly",
    "vendors.surfly.sandbox",
    "vendors.samesurf",
    "vendors.samesurf.sandbox",
    "vendors.upscope",
    "vendors.upscope.sandbox",
    "vendors.smartsupp",
    "vendors.smartsupp.sandbox",
    "vendors.serviceform",
    "vendors.serviceform.sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Vendor webhooks: answered here, without the page middleware below.
    "cobrowse_portal.core.hooks_middleware.WebhookIntakeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "cobrowse_portal.core.middleware.WorkspaceMiddleware",
    "cobrowse_portal.core.middleware.VaryOnHtmxMiddleware",
    # Last, as axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cobrowse_portal.urls"
WSGI_APPLICATION = "cobrowse_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "cobrowse_portal.core.context_processors.portal",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]


def _sqlite_options(db: dict) -> dict:
    """SQLite tuned for several processes (web, worker, beat) writing at once."""
    if db["ENGINE"].endswith("sqlite3"):
        db.setdefault("OPTIONS", {}).update(
            {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
    return db


DATABASES = {
    "default": _sqlite_options(
        env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
    ),
    # The vendor sandboxes keep their state apart from portal data.
    "sandbox": _sqlite_options(
        env.db(
            "SANDBOX_DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'sandbox.sqlite3'}"
        )
    ),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASE_ROUTERS = ["cobrowse_portal.vendorkit.sandbox.router.SandboxRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="dbcache://portal_cache")}
# The control room's rendered pages, kept per process and keyed by each workspace's
# write generation (core.pagecache); off renders every request.
PAGE_CACHE = env.bool("PAGE_CACHE", default=True)

_PV = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_PV}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_PV}.MinimumLengthValidator"},
    {"NAME": f"{_PV}.CommonPasswordValidator"},
    {"NAME": f"{_PV}.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Login throttling (django-axes) --------------------------------------------
# Axes first: it refuses a locked-out login before any password is checked.
# Then Django's ModelBackend, whose per-request user lookup also reads the user's
# workspaces and roles (one query for both, cobrowse_portal/core/auth.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "cobrowse_portal.core.auth.PortalBackend",
]
# Policy (cobrowse_portal/core/throttling.py, README "Security"): one username at
# one address is locked after AXES_FAILURE_LIMIT failures; one address, whatever
# usernames it tries, after AXES_ADDRESS_FAILURE_LIMIT. A lockout never covers
# other addresses, so nobody can lock a user out from everywhere.
AXES_HANDLER = "cobrowse_portal.core.throttling.PortalAxesHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_ADDRESS_FAILURE_LIMIT = env.int("AXES_ADDRESS_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "cobrowse_portal.core.throttling.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Client address: REMOTE_ADDR unless told otherwise, or behind a reverse proxy every
# user shares the proxy's address. Behind one proxy that appends the client to
# X-Forwarded-For (nginx `proxy_add_x_forwarded_for`, most load balancers) set
# AXES_IPWARE_META_PRECEDENCE_ORDER=HTTP_X_FORWARDED_FOR,REMOTE_ADDR and
# AXES_IPWARE_PROXY_COUNT=0:
# the count is how many proxy addresses follow the client's in the header (one per
# proxy in front of that last one), counted from the right, so whatever a client
# writes into the header itself is never taken as its address.
AXES_IPWARE_META_PRECEDENCE_ORDER = env.list(
    "AXES_IPWARE_META_PRECEDENCE_ORDER", default=["REMOTE_ADDR"]
)
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=None)
# Count from the right even when the client sent an X-Forwarded-For of its own
# (ipware's strict mode would give up on such a header and use the proxy's address).
IPWARE_STRICT = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Bootstrap and Chart.js come from npm (package-lock.json; `make assets` installs them
# into node_modules/, never committed) and are served from our own static files:
# {% static 'vendor/bootstrap/css/bootstrap.min.css' %} and
# {% static 'vendor/chartjs/chart.umd.min.js' %}.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security headers -------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)


def _flag(name: str, default: bool) -> bool:
    """A boolean whose empty value (as `.env.example` lists it) means its default."""
    return env.bool(name) if env.str(name, default="").strip() else default


SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0
)
# The `preload` directive only consents to the browsers' preload list (hstspreload.org
# asks for max-age >= 1 year and includeSubDomains); `check --deploy` warns without it.
SECURE_HSTS_PRELOAD = _flag(
    "SECURE_HSTS_PRELOAD",
    SECURE_HSTS_SECONDS >= 31536000 and SECURE_HSTS_INCLUDE_SUBDOMAINS,
)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Surfly screenshots live on the vendor's storage (any https host).
        "img-src": ["'self'", "data:", "https:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Two queues (cobrowse_portal/core/routing.py): "live" for the short work on a
# minute's cadence (live streams, webhook drain, kept writes, sweeper, provisioning
# steps), the default one for long pulls (history backfills, listings, usage,
# reports). Each has its own worker (Procfile), so a first backfill never holds up
# the live pages. `manage.py broker_setup` declares both before the workers start.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Each queue with its own exchange and routing key: a bare Queue("live") would be
# bound to the default exchange's key, and a message sent there reach both queues.
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in (CELERY_TASK_DEFAULT_QUEUE, "live")
)
CELERY_TASK_ROUTES = ("cobrowse_portal.core.routing.route_task",)
# Beat writes a task's last_run_at back after every send (not every 3 minutes), so
# the schedule table and the admin never show a stale time.
CELERY_BEAT_SYNC_EVERY = 1
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Unacked tasks come back after this long if a worker dies (acks_late).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
    }

# --- Vendors ------------------------------------------------------------------
# Client-side read/connect timeouts for every vendor call, in seconds.
VENDOR_CONNECT_TIMEOUT = env.float("VENDOR_CONNECT_TIMEOUT", default=3.05)
VENDOR_READ_TIMEOUT = env.float("VENDOR_READ_TIMEOUT", default=20.0)
VENDOR_MAX_RETRIES = env.int("VENDOR_MAX_RETRIES", default=4)
VENDOR_BACKOFF_MAX = env.float("VENDOR_BACKOFF_MAX", default=30.0)
# Proactive client-side budgets shared by every worker, e.g. "surfly=100/m";
# "surfly=off" lifts one (benchmarks against the sandbox).
VENDOR_RATE_LIMITS = env.dict("VENDOR_RATE_LIMITS", default={})
# Outbound policy (vendorkit.outbound): vendor calls go to https hosts with public
# addresses only, except these hosts ("host" = any port, or "host:port"), which may
# be private and plain http: sandboxes, on-premise installs. While sandboxes are on,
# the portal's own address (SANDBOX_ADDRESS, `make run` passes HOST:PORT; else
# SITE_URL's) is allowed too.
SANDBOX_ADDRESS = env.str(
    "SANDBOX_ADDRESS", default=SITE_URL.split("://", 1)[-1].split("/", 1)[0]
)
VENDOR_ALLOWED_HOSTS = env.list("VENDOR_ALLOWED_HOSTS", default=[]) + (
    [SANDBOX_ADDRESS] if SANDBOX_ENABLED and SANDBOX_ADDRESS else []
)
# Look-back window for incremental history pulls, in seconds.
SYNC_LOOKBACK_SECONDS = env.int("SYNC_LOOKBACK_SECONDS", default=600)
# How long a sync claim lives without a heartbeat before another worker may take it.
SYNC_CLAIM_TTL_SECONDS = env.int("SYNC_CLAIM_TTL_SECONDS", default=900)
# Serviceform's chats stream (vendors/serviceform/sync.py): days the first run
# backfills, how far back each run reads again (a chat is listed by its start
# time only), how long a chat without an end may stay quiet before it counts as
# ended (the API sends no end signal), and days of chat statistics per run.
SERVICEFORM_CHAT_HISTORY_DAYS = env.int("SERVICEFORM_CHAT_HISTORY_DAYS", default=90)
SERVICEFORM_CHAT_LOOKBACK_SECONDS = env.int(
    "SERVICEFORM_CHAT_LOOKBACK_SECONDS", default=3 * 3600
)
SERVICEFORM_CHAT_IDLE_SECONDS = env.int("SERVICEFORM_CHAT_IDLE_SECONDS", default=1800)
SERVICEFORM_STAT_DAYS = env.int("SERVICEFORM_STAT_DAYS", default=30)
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=256 * 1024)
# The sweeper (core.sweep, every minute) re-queues webhook events and kept writes
# waiting this long past due: their task was lost.
SWEEP_GRACE_SECONDS = env.int("SWEEP_GRACE_SECONDS", default=60)
#: A provisioning step still "running" after this long lost its worker: the
#: sweeper marks it failed (retrying it finds what it already made).
PROVISIONING_STEP_TIMEOUT = env.int("PROVISIONING_STEP_TIMEOUT", default=15 * 60)
#: A step that failed for a transient reason (timeout, 5xx, 429, connection
#: refused) is tried again by itself after these seconds, then left failed.
PROVISIONING_RETRY_DELAYS = tuple(
    env.list("PROVISIONING_RETRY_DELAYS", cast=int, default=[30, 120, 600])
)

# --- E-mail (scheduled reports, cobrowse_portal/reports) ----------------------
# EMAIL_URL configures Django's e-mail framework (django-environ's email_url):
# smtp://user:pass@host:587, smtp+tls://... (STARTTLS), smtp+ssl://... (implicit
# TLS). Without it, every message is written as one .eml file into EMAIL_FILE_PATH
# (var/outbox/) and the portal's Outbox page shows it.
EMAIL_FILE_PATH = str(env.path("EMAIL_FILE_PATH", default=VAR_DIR / "outbox"))
if env.str("EMAIL_URL", default="").strip():
    _email = env.email_url("EMAIL_URL")
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = _email.get("EMAIL_PORT", 25)
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
    if _email.get("EMAIL_FILE_PATH"):  # filemail:///path
        EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
else:
    EMAIL_BACKEND = "cobrowse_portal.reports.mail.OutboxFileBackend"
# Empty (as in a copied `.env.example` line) means the default.
DEFAULT_FROM_EMAIL = (
    env.str("DEFAULT_FROM_EMAIL", default="").strip()
    or "Cobrowse Portal <reports@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# --- Logging ------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "cobrowse_portal.vendorkit.redaction.RedactingFilter"}
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own loggers get our (redacting) handler too: runserver's
        # request lines carry query strings, and sandbox URLs carry API keys.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "urllib3": {"level": "WARNING"},
        # Axes logs every login at INFO; failures and lockouts are WARNINGs.
        "axes": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
    },
}

# Django 6 makes https the default scheme of forms.URLField; opt in now.
FORMS_URLFIELD_ASSUME_HTTPS = True
