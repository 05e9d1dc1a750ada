"""Test settings: the real settings, with sandboxes on and fast hashing.

DATABASE_URL, CELERY_BROKER_URL and CACHE_URL still switch the suite to
PostgreSQL and Redis (CI does).
"""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "tests-only-" + "k" * 60 + "-not-for-production")
os.environ.setdefault("ENCRYPTION_KEYS", "gkQp2b2mI5cH4h0jHcJ9H8hF7y6sZ1k2m3n4o5p6q7E=")
os.environ.setdefault("CACHE_URL", "locmemcache://")
os.environ.setdefault("SANDBOX_ENABLED", "true")
os.environ.setdefault("SANDBOX_RATE_LIMIT", "off")
os.environ.setdefault("VENDOR_RATE_LIMITS", "surfly=off")
os.environ.setdefault("VENDOR_READ_TIMEOUT", "5")
os.environ.setdefault("VENDOR_BACKOFF_MAX", "2")
# live_server and the local test servers run on loopback, on random ports: allow
# loopback on any port here; tests/vendorkit/test_outbound.py proves the refusals.
os.environ.setdefault("VENDOR_ALLOWED_HOSTS", "localhost,127.0.0.1")

from cobrowse_portal.settings import *  # noqa: E402,F403
from cobrowse_portal.settings import DATABASES, VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SANDBOX_WEBHOOKS_INLINE = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
for _alias, _db in DATABASES.items():
    if _db["ENGINE"].endswith("sqlite3"):
        # Files, not memory: live_server threads and the test share them safely.
        # One file per pytest process, so parallel runs never share a database.
        _db["TEST"] = {"NAME": str(VAR_DIR / f"test-{_alias}-{os.getpid()}.sqlite3")}
