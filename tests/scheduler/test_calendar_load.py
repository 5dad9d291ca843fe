"""A new year's holiday arrangement loaded by an administrator reaches every process: stored in
the database, applied by the next sweep of any worker."""
import json
from datetime import date

import pytest

from engine import calendar, calendar_store
from tests.scheduler.conftest import START

ARRANGEMENT = {"year": 2031, "holidays": ["2031-10-01", "2031-10-02", "2031-10-03"],
               "workdays": ["2031-09-27"]}  # a Saturday worked in exchange


@pytest.fixture(autouse=True)
def forget_loaded_years():
    yield
    calendar.clear_loaded_arrangements()
    calendar_store._applied.clear()


def test_loaded_arrangement_is_stored_and_applied_by_the_next_sweep(tmp_path, engine, database, clock):
    from web.app import create_app
    path = tmp_path / "2031.json"
    path.write_text(json.dumps(ARRANGEMENT), encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"year": 2031, "holidays": ["2031-02-30"], "workdays": []}), encoding="utf-8")
    app = create_app({"TESTING": True, "DATABASE_URL": database.url, "CLOCK": clock})
    try:
        runner = app.test_cli_runner()
        refused = runner.invoke(args=["calendar", "load", str(bad)])
        assert refused.exit_code == 1 and "日期格式错误: '2031-02-30'" in refused.output
        loaded = runner.invoke(args=["calendar", "load", str(path)])
        assert loaded.exit_code == 0 and "已载入 2031 年节假日安排" in loaded.output
        listed = json.loads(runner.invoke(args=["calendar", "list", "--json"]).output)
        assert [(r["year"], r["holidays"], r["workdays"]) for r in listed] == [(2031, 3, 1)]
    finally:
        app.extensions["linkage"].db.dispose()

    # Another process (here: this one, forgetting what it knew) learns it at its next sweep.
    calendar.clear_loaded_arrangements()
    calendar_store._applied.clear()
    with pytest.warns(calendar.CalendarDataMissing):
        assert calendar.is_working_day(date(2031, 10, 1))  # no data: Mon-Fri
    engine.tick(START)
    assert not calendar.is_working_day(date(2031, 10, 1))
    assert calendar.is_working_day(date(2031, 9, 27))
    assert calendar.add_working_days(date(2031, 9, 30), 1) == date(2031, 10, 6)
