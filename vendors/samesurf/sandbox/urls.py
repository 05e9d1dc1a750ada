"""SameSurf API v3 sandbox, mounted at /sandbox/samesurf/ (so …/api/v3/<method>).

Its operations arrive with the sandbox models (the next commit on this branch).
"""

from __future__ import annotations

urlpatterns: list = []
