"""Login throttling: after LIMIT failed attempts for one username from one address within
WINDOW, further attempts are refused until the oldest failure leaves the window.

Kept in memory (one counter per app, shared by its threads under a lock). With several server
processes each counts on its own, which still bounds guessing to LIMIT x processes per window.
"""
import threading
from datetime import timedelta

LIMIT = 5
WINDOW = timedelta(minutes=15)
MAX_KEYS = 50_000


class LoginThrottle:
    def __init__(self, limit=LIMIT, window=WINDOW, max_keys=MAX_KEYS):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._failures = {}  # (username, address) -> [failure times], oldest first
        self._lock = threading.Lock()

    @staticmethod
    def key(username, address):
        return ((username or "").strip().lower(), address or "")

    def _recent(self, key, now):
        times = [t for t in self._failures.get(key, ()) if now - t < self.window]
        if times:
            self._failures[key] = times
        else:
            self._failures.pop(key, None)
        return times

    def retry_after(self, key, now):
        """Seconds until another attempt is allowed, or 0 when it is allowed now."""
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.limit:
                return 0
            wait = times[-self.limit] + self.window - now
            return max(1, int(wait.total_seconds() + 0.999))

    def failed(self, key, now):
        with self._lock:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times[-self.limit:]
            if len(self._failures) > self.max_keys:
                self._prune(now)

    def succeeded(self, key):
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, now):
        for key in list(self._failures):
            self._recent(key, now)
        excess = len(self._failures) - self.max_keys
        if excess > 0:  # still too many: forget the stalest
            for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[:excess]:
                del self._failures[key]
