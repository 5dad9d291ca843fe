"""`linkage init` on a fresh database creates the scheduler's tables, the default reminder rule
and the default schedules, once."""
import json

from sqlalchemy import inspect

from tests.scheduler.conftest import START


def test_init_creates_tables_default_rule_and_schedules_once(tmp_path):
    from engine.clock import ManualClock
    from web.app import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
                      "CLOCK": ManualClock(START)})
    try:
        runner = app.test_cli_runner()
        first = runner.invoke(args=["init"])
        assert first.exit_code == 0, first.output
        assert "已创建默认的定期案件计划" in first.output
        again = runner.invoke(args=["init"])
        assert again.exit_code == 0 and "定期案件计划" not in again.output

        tables = set(inspect(app.extensions["linkage"].db.engine).get_table_names())
        assert {"reminder_rules", "deadline_jobs", "notifications", "deliveries", "schedules",
                "schedule_runs"} <= tables
        rules = json.loads(runner.invoke(args=["reminders", "list", "--json"]).output)
        assert rules == [{"process_id": None, "task": None, "enabled": True,
                          "before_working_days": [3], "before_days": [1], "at_due": True,
                          "overdue_every_working_days": 1, "escalate_after_working_days": 3,
                          "hour": 9, "channels": ["inapp", "email", "webhook"]}]
        schedules = json.loads(runner.invoke(args=["schedules", "list", "--json"]).output)
        assert [(s["process_id"], s["per_kind"], s["rule"]) for s in schedules] == [
            ("joint_meeting", "community", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"),
            ("periodic_report", "community", "FREQ=MONTHLY;BYMONTHDAY=3,18"),
            ("periodic_report", "street", "FREQ=MONTHLY;BYMONTHDAY=3,18"),
            ("contract_watch", None, "hook:contract_end")]
        # From Monday 2 March 2026: the second quarter's meetings, the report due 18 March
        # (3 working days ahead), and the contract dates looked at again tomorrow.
        assert [s["next_due"] for s in schedules] == [
            "2026-04-01T01:00:00+00:00", "2026-03-13T01:00:00+00:00",
            "2026-03-13T01:00:00+00:00", "2026-03-03T01:00:00+00:00"]
        assert runner.invoke(args=["deliveries", "--json"]).output.strip() == '{"items": [], "total": 0}'
    finally:
        app.extensions["linkage"].db.dispose()
