"""Start data for demo cases of the bundled processes.

`DEMO_START_DATA` maps a process id to its start form data, or to a function returning it when
the data depends on the day the demo is loaded (a meeting is always convened for next week).
"""
from datetime import datetime, time, timedelta

from engine.calendar import CHINA_TZ


def _next_week_meeting():
    day = datetime.now(CHINA_TZ).date() + timedelta(days=7)
    return {
        "meeting_type": "regular",
        "meeting_at": datetime.combine(day, time(9, 30), CHINA_TZ).isoformat(),
        "location": "凤台社区党群服务中心二楼会议室",
        "agenda": ["通报本季度物业服务质量评议情况", "研究凤台花园3号楼电梯维修方案",
                   "协调地下车库停车秩序管理"],
    }


DEMO_START_DATA = {
    "rectification": {
        "problem_description": "凤台花园3号楼电梯近一个月困人两次，地下车库东区照明大面积损坏，业主投诉强烈。",
        "source": "complaint",
        "source_reference": "12345-2026-0312",
    },
    "joint_meeting": _next_week_meeting,
}


def start_data(process_id):
    data = DEMO_START_DATA.get(process_id, {})
    return dict(data() if callable(data) else data)
