"""Pieces several figures use: the clock's start, the clerk, ready-task look-ups."""
from datetime import datetime, timezone

from sqlalchemy import select

from engine.models import TaskRow

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Beijing
REPORT = {"report": "已更换3号楼电梯曳引机钢丝绳，地下车库东区照明全部修复，附照片12张。"}
NOT_ACCEPTED = {"accepted": False, "opinion": "车库东区仍有4处照明未修复，继续整改。"}


def ready_task(engine, case_id, name=None):
    with engine.db.unit_of_work(write=False) as session:
        query = select(TaskRow.id).where(TaskRow.case_id == case_id, TaskRow.state == "ready")
        if name:
            query = query.where(TaskRow.name == name)
        return session.scalars(query).first()
