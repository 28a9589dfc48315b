"""Secret references: configuration names a secret (``env://NAME``, ``file://PATH``) and
the value is read only when it is used, so no secret sits in a configuration file, the
database or a log. The runtime's connectors and the REST API's webhook sources both read
them here."""

from __future__ import annotations

import os
from pathlib import Path

SECRET_SCHEMES = ("env://", "file://")


class SecretUnavailable(LookupError):
    """The reference is well formed but names nothing readable now."""


def is_secret_ref(value: object) -> bool:
    """Whether ``value`` is a secret reference (``env://NAME`` or ``file://PATH``)."""
    return isinstance(value, str) and value.startswith(SECRET_SCHEMES)


def read_secret(ref: str) -> str:
    """The value ``ref`` points at, read now. Raises :class:`ValueError` for a string that
    is not a reference, :class:`SecretUnavailable` for an unset variable or unreadable file."""
    if ref.startswith("env://"):
        name = ref[len("env://") :]
        if name not in os.environ:
            raise SecretUnavailable(f"secret reference {ref} names an unset environment variable")
        return os.environ[name]
    if ref.startswith("file://"):
        path = Path(ref[len("file://") :])
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise SecretUnavailable(
                f"secret reference {ref} cannot be read: {exc.strerror}"
            ) from None
    raise ValueError(f"{ref!r} is not a secret reference (env://NAME or file://PATH)")
