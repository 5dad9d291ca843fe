"""Holiday arrangements an administrator loaded, kept in the database for every process.

The State Council publishes next year's arrangement each autumn, sometimes before the
`chinese_calendar` package has it. `linkage calendar load FILE` checks the file
(`engine.calendar.load_arrangement_file`) and stores it here; each process applies the stored
years when it starts and every sweep applies them again, so workers count working days with
the new year's holidays without a restart (web processes pick it up when they restart).
"""
import json
import logging
from datetime import date
from pathlib import Path

from sqlalchemy import Integer, String, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from engine import calendar
from engine.models import Base, JsonType, UTCDateTime

log = logging.getLogger("linkage.calendar")
_applied = {}  # year -> (holidays, workdays) as applied in this process


class CalendarArrangement(Base):
    __tablename__ = "calendar_arrangements"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holidays: Mapped[list] = mapped_column(JsonType, default=list)
    workdays: Mapped[list] = mapped_column(JsonType, default=list)
    loaded_at: Mapped[object] = mapped_column(UTCDateTime)
    loaded_by: Mapped[str] = mapped_column(String(80))


def store(session, path, actor, now):
    """Check the arrangement file, use it in this process, keep it for the others; its year."""
    year = calendar.load_arrangement_file(path)  # ValueError with the file's name when wrong
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    row = session.get(CalendarArrangement, year) or CalendarArrangement(year=year)
    row.holidays, row.workdays = sorted(data["holidays"]), sorted(data["workdays"])
    row.loaded_at, row.loaded_by = now, actor.username
    session.add(row)
    _applied[year] = (tuple(row.holidays), tuple(row.workdays))
    return year


def stored(session):
    return session.scalars(select(CalendarArrangement).order_by(CalendarArrangement.year)).all()


def apply(session):
    """Use every stored arrangement not yet in use in this process; the years newly applied."""
    changed = []
    for row in stored(session):
        current = (tuple(row.holidays), tuple(row.workdays))
        if _applied.get(row.year) != current:
            calendar.load_arrangement(row.year, [date.fromisoformat(d) for d in row.holidays],
                                      [date.fromisoformat(d) for d in row.workdays])
            _applied[row.year] = current
            changed.append(row.year)
    return changed


def apply_at_start(database):
    """At process start: apply what is stored; a database not yet created has nothing."""
    try:
        with database.unit_of_work(write=False) as session:
            apply(session)
    except SQLAlchemyError as exc:  # before `linkage init` the table does not exist yet
        log.debug("no stored holiday arrangements yet: %s", exc.__class__.__name__)
