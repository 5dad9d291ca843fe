"""Service handlers: the steps of a process that need the database, registered by name.

A script task calls `call_service("name", key=value)`; the engine runs the handler registered
under that name inside the case's own transaction and hands the script its JSON-able result. The
engine knows no handler itself: `workflows/` registers them, as it registers forms. Scripts stay
sandboxed (no imports, no I/O); anything that must read or write tables goes through here, where
it is plain, tested Python.
"""
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session


class HandlerFailed(ValueError):
    """A handler refused or failed; the case goes to `error` with this message."""


@dataclass
class ServiceContext:
    """What a handler may use: the open session, the case row, the engine's time, the actor."""

    session: Session
    case: object
    now: datetime
    actor: str


class HandlerRegistry:
    def __init__(self):
        self._handlers = {}

    def register(self, name, handler):
        """`handler(ctx: ServiceContext, **kwargs)` returns a JSON-able value."""
        self._handlers[name] = handler

    def names(self):
        return sorted(self._handlers)

    def call(self, name, context, kwargs):
        handler = self._handlers.get(name)
        if handler is None:
            raise HandlerFailed(f"未注册的服务：{name}")
        try:
            result = handler(context, **kwargs)
        except HandlerFailed:
            raise
        except (LookupError, TypeError, ValueError) as exc:
            raise HandlerFailed(f"服务 {name} 执行失败：{exc}") from exc
        # What a script receives must survive the case state's JSON serialization unchanged.
        return json.loads(json.dumps(result, default=_plain, ensure_ascii=False))


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
