"""Passwords (登录密码): the one Argon2 hasher and the rules a new password must meet, shared by
the API (sign-in, the bureau setting a password) and the operators' CLI (``worker.accounts``),
so a hash made by either verifies in the other. Here rather than in ``api/`` because the worker
must not import the web layer; ``api/`` may import ``worker/``."""

from __future__ import annotations

import itertools
import re

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_LENGTH = 8  # longer than the demo password, which is known to everyone
MAX_LENGTH = 128  # Argon2 takes any length; a bound keeps a request from costing a megabyte

passwords = PasswordHash((Argon2Hasher(),))
# The demo password of dev mode (``demo``) is public: a slow hash of it protects nothing, and
# costs each demo sign-in about 0.2 s of CPU (a loaded trial, the test suite's hundred sign-ins).
# Its hash is Argon2 all the same, at the smallest cost, and verifies with ``passwords`` (an
# Argon2 hash carries its own cost). Every password a person sets gets the full cost.
_public = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The passwords tried first by anyone guessing (the head of every leaked-password list), and
# the ones a county office is likely to pick. Compared in lower case.
COMMON = frozenset(
    {
        "12345678",
        "123456789",
        "1234567890",
        "0123456789",
        "87654321",
        "11111111",
        "00000000",
        "88888888",
        "66666666",
        "12341234",
        "11223344",
        "123123123",
        "147258369",
        "123qweasd",
        "1qaz2wsx",
        "1q2w3e4r",
        "qwertyui",
        "qwertyuiop",
        "asdfghjk",
        "asdfghjkl",
        "zxcvbnm1",
        "password",
        "password1",
        "password123",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "iloveyou",
        "woaini520",
        "woaini1314",
        "5201314520",
        "abc12345",
        "abcd1234",
        "a1234567",
        "a12345678",
        "aa123456",
        "admin123",
        "admin888",
        "administrator",
        "root1234",
        "welcome1",
        "letmein1",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "superman",
        "trustno1",
        "computer",
        "internet",
        "changeme",
        "qazwsxedc",
        "1qazxsw2",
        "zaq12wsx",
        "petitionflow",
        "xinfang123",
        "xinfangju",
        "demo1234",
        "demodemo",
    }
)


def hash_password(password: str) -> str:
    return passwords.hash(password)


def hash_public_password(password: str) -> str:
    """The hash of a password everyone knows (dev mode's demo password), cheap to verify."""
    return _public.hash(password)


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why ``password`` may not be set; None when it may. The demo password (``demo``) is
    refused in any mode, being shorter than the minimum: dev mode seeds it, nobody sets it.
    The reasons never repeat the password."""
    if not password.strip():
        return "a password may not be whitespace only"
    if len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    if _CONTROL.search(password):
        return "a password may not contain control characters"
    lowered = password.lower()
    if lowered in COMMON or len(set(lowered)) <= 2 or _is_run(lowered):
        return "a password may not be a common one (a well-known password, a run, a repeat)"
    if username and username.lower() in lowered:
        return "a password may not contain the username"
    return None


def _is_run(text: str) -> bool:
    """abcdefgh, 23456789, 98765432: each character one step from the one before."""
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return steps in ({1}, {-1})
