"""The scheduler loop: APScheduler calling the same service-layer tick as `linkage tick`.

Any number of these loops may run against one database (see `engine.sweep`): each due item is
taken by one of them. A sweep that fails is logged and the next one runs as usual; what it
left undone is still due then.
"""
import logging
from collections import Counter
from datetime import timezone

from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger("linkage.scheduler")


def sweep(app):
    engine = app.extensions["linkage"]
    try:
        now, fired = engine.tick(strict=False)
        if fired:
            kinds = Counter(item["kind"] for item in fired)
            log.info("%s: fired %d (%s)", now.isoformat(), len(fired),
                     ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))
    except Exception:  # noqa: BLE001 - one failed sweep must not stop the scheduler
        log.exception("sweep failed")


def run_blocking(app, interval):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    scheduler = BlockingScheduler(timezone=timezone.utc)
    scheduler.add_job(sweep, "interval", seconds=interval, args=[app], max_instances=1,
                      coalesce=True, id="sweep")
    sweep(app)
    log.info("scheduler running every %ss", interval)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
