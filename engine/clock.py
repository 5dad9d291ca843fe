"""The engine's one clock.

SpiffWorkflow reads the wall clock itself; Linkage does not let it (see `engine.timers`). Every
"now" the engine uses (timer due times, task due dates, audit times, the scheduler's sweep)
comes from a `Clock`, so tests move time by setting the clock and never by sleeping.
"""
from datetime import datetime, timedelta, timezone
import threading


def utcnow():
    return datetime.now(timezone.utc)


def aware(value):
    """Return `value` as an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class Clock:
    """The wall clock, optionally overridden for the current thread.

    `at(moment)` is used by the timer sweep: while a due timer fires, "now" is its due time, so
    catching up after downtime replays each occurrence in due order exactly as it would have
    happened (a cycle that fell due three times fires three times).
    """

    def __init__(self):
        self._local = threading.local()

    def now(self):
        pinned = getattr(self._local, "pinned", None)
        return pinned if pinned is not None else self._wall()

    def _wall(self):
        return utcnow()

    def at(self, moment):
        return _Pinned(self, aware(moment))


class _Pinned:
    def __init__(self, clock, moment):
        self.clock, self.moment = clock, moment

    def __enter__(self):
        self.previous = getattr(self.clock._local, "pinned", None)
        self.clock._local.pinned = self.moment
        return self.moment

    def __exit__(self, *exc):
        self.clock._local.pinned = self.previous


class ManualClock(Clock):
    """A clock that only moves when told to: for tests and for `linkage tick --now`."""

    def __init__(self, start=None):
        super().__init__()
        self._now = aware(start) if start else utcnow()

    def _wall(self):
        return self._now

    def set(self, moment):
        self._now = aware(moment)

    def advance(self, **kwargs):
        self._now += timedelta(**kwargs)
        return self._now
