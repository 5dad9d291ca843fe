"""The scheduler loop: APScheduler calling the same service-layer tick as `linkage tick`."""
import logging
from datetime import timezone

from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger("linkage.scheduler")


def sweep(app):
    engine = app.extensions["linkage"]
    try:
        now, fired = engine.tick(strict=False)
        if fired:
            log.info("%s: fired %d", now.isoformat(), len(fired))
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
