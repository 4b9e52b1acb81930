"""Passwords (登录密码): the one Argon2 hasher and the rules a new password must meet, shared by
the API (sign-in, the bureau setting a password) and the operators' CLI (``worker.accounts``),
so a hash made by either verifies in the other. Here rather than in ``api/`` because the worker
must not import the web layer; ``api/`` may import ``worker/``."""

from __future__ import annotations

import re

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from worker.settings import DEV_PASSWORD

MIN_LENGTH = 8
MAX_LENGTH = 128  # Argon2 takes any length; a bound keeps a request from costing a megabyte

passwords = PasswordHash((Argon2Hasher(),))

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def hash_password(password: str) -> str:
    return passwords.hash(password)


def password_problem(password: str, *, dev_mode: bool) -> str | None:
    """Why ``password`` may not be set; None when it may."""
    if len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    if _CONTROL.search(password):
        return "a password may not contain control characters"
    # Everyone who has read the README knows the demo password: never outside a trial.
    if not dev_mode and password.strip().lower() == DEV_PASSWORD:
        return f"the demo password {DEV_PASSWORD!r} is refused outside dev mode"
    return None
