"""`linkage serve` caps glibc's malloc arenas before its workers fork (`web.server`)."""
import ctypes

from web import server


class FakeLibc:
    def __init__(self, calls):
        self.calls = calls

    def mallopt(self, parameter, value):
        self.calls.append((parameter, value))
        return 1


def test_serve_caps_malloc_arenas_unless_the_environment_says_otherwise(monkeypatch):
    calls = []
    monkeypatch.setattr(ctypes, "CDLL", lambda _name: FakeLibc(calls))
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    server.limit_malloc_arenas()
    assert calls == [(server.M_ARENA_MAX, server.MALLOC_ARENAS)]

    calls.clear()
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")  # an operator's own choice wins
    server.limit_malloc_arenas()
    assert calls == []


def test_a_c_library_that_cannot_be_loaded_is_not_an_error(monkeypatch):
    def refuse(_name):
        raise OSError("no such library")
    monkeypatch.setattr(ctypes, "CDLL", refuse)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    server.limit_malloc_arenas()  # serving goes on with the C library's defaults
