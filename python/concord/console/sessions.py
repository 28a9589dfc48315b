"""Console sessions: the token a person signed in with stays in the server's memory, and the
browser holds only a random session id in an HttpOnly, SameSite=Strict cookie, so no page
script, no other site and no log of cookies ever sees the token. Each session has its own
CSRF secret, which every form carries back; a form without it is refused.

Sessions live in the API process: a restart signs everyone out (they sign in again), and an
API served by several processes needs a sticky load balancer for its console.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "concord_session"
# the sign-in form's secret, held by the browser before it has a session
SIGN_IN_COOKIE = "concord_sign_in"
# a session unused this long is forgotten; signing in again is cheap
IDLE_SECONDS = 8 * 3600
MAX_SESSIONS = 10_000


@dataclass
class Session:
    token: str
    principal: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    last_seen: float = field(default_factory=time.monotonic)

    def csrf_matches(self, presented: str | None) -> bool:
        # bytes: compare_digest refuses a str with non-ASCII characters (a TypeError, a 500)
        return presented is not None and hmac.compare_digest(
            self.csrf.encode(), presented.encode()
        )


class Sessions:
    """Session id -> :class:`Session`, forgetting idle ones."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, token: str, principal: str) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_idle()
            if len(self._by_id) >= MAX_SESSIONS:
                oldest = min(self._by_id, key=lambda k: self._by_id[k].last_seen)
                del self._by_id[oldest]
            self._by_id[session_id] = Session(token, principal)
        return session_id

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._by_id.get(session_id)
            if session is None:
                return None
            now = time.monotonic()
            if now - session.last_seen > IDLE_SECONDS:
                del self._by_id[session_id]
                return None
            session.last_seen = now
            return session

    def close(self, session_id: str | None) -> None:
        with self._lock:
            self._by_id.pop(session_id or "", None)

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._by_id.items() if now - s.last_seen > IDLE_SECONDS]:
            del self._by_id[key]
