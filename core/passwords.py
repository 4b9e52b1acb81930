"""Passwords (登录密码): the one Argon2 hasher and the rules a new password must meet, shared by
the API (sign-in, the bureau setting a password) and the operators' CLI (``worker.accounts``),
so a hash made by either verifies in the other. Here rather than in ``api/`` because the worker
must not import the web layer; ``api/`` may import ``worker/``."""

from __future__ import annotations

import re

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_LENGTH = 8  # longer than the demo password, which is known to everyone
MAX_LENGTH = 128  # Argon2 takes any length; a bound keeps a request from costing a megabyte

passwords = PasswordHash((Argon2Hasher(),))

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def hash_password(password: str) -> str:
    return passwords.hash(password)


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be set; None when it may. The demo password (``demo``) is
    refused in any mode, being shorter than the minimum: dev mode seeds it, nobody sets it."""
    if len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    if _CONTROL.search(password):
        return "a password may not contain control characters"
    return None
