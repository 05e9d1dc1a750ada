"""Write a local `.env` from `.env.example` with fresh secrets (used by `make run`).

Runs without Django settings, because settings refuse to load without these keys.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

LOCAL_OVERRIDES = {
    "DEBUG": "false",
    "SANDBOX_ENABLED": "true",
    "SECURE_COOKIES": "false",
}


def render(example: str) -> str:
    values = {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        **LOCAL_OVERRIDES,
    }
    out = []
    for line in example.splitlines():
        name = line.split("=", 1)[0].lstrip("# ").strip()
        if "=" in line and name in values:
            out.append(f"{name}={values[name]}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    src, dst = Path(argv[0]), Path(argv[1])
    if dst.exists():
        print(f"{dst} exists; keeping it")  # noqa: T201
        return 0
    dst.write_text(render(src.read_text()))
    dst.chmod(0o600)
    print(f"wrote {dst} with a fresh SECRET_KEY and ENCRYPTION_KEYS")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or [".env.example", ".env"]))
