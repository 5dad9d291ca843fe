"""`linkage serve`: the app under gunicorn (never Flask's development server), with the
scheduler as a sibling `linkage worker` process unless told otherwise."""
import ctypes
import ctypes.util
import gc
import os
import subprocess
import sys

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from web.app import create_app
        app = create_app()
        settle_heap()
        return app


def settle_heap():
    """Take what start-up built out of the cyclic garbage collector's sight.

    The app, its templates' environment, the mappers, the parsed process specs and forms live
    as long as the worker; left in the collector's generations, every full collection that
    requests trigger walks them all again. Frozen, a collection scans only what requests
    allocated: at city scale this took the largest page's p95 (the reports by community, a
    third of a megabyte of HTML) from about 150 ms to 80 ms, its median unchanged
    (`bench/pages.py`).
    """
    gc.collect()
    gc.freeze()


M_ARENA_MAX = -8  # glibc's mallopt parameter
MALLOC_ARENAS = 2


def limit_malloc_arenas():
    """Cap glibc's malloc arenas before the workers fork and start their threads.

    glibc gives each new thread an arena of its own (up to eight per core), and a gthread
    worker's four threads each grow theirs with their own peaks: resident memory kept creeping
    up for thousands of requests after start-up before it levelled (P8 in bench/RESULTS.md
    measured 233-244 MB after 5,000 completions and 241-246 MB after 10,000). Two arenas is the
    usual setting for threaded Python servers (`MALLOC_ARENA_MAX=2`); set here, it needs no
    environment variable. A no-op where the C library is not glibc, or when the variable is set.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "mallopt"):
            libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS)
    except OSError:
        return


def serve(host, port, workers, scheduler=True):
    limit_malloc_arenas()
    worker = None
    if scheduler:
        worker = subprocess.Popen([sys.executable, "-m", "web.cli", "worker"], env=os.environ.copy())
    try:
        _Gunicorn({"bind": f"{host}:{port}", "workers": max(1, workers), "worker_class": "gthread",
                   "threads": 4, "timeout": 60, "graceful_timeout": 10, "accesslog": "-",
                   "errorlog": "-", "loglevel": "info", "preload_app": False}).run()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(10)
