"""Read-only questions for inboxes, boards and the API, answered from the projections.

None of these loads a workflow. Every list is scoped to what the principal may see and paged.
"""
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

from engine.access import in_scope, scope_clause
from engine.errors import NotFound
from engine.models import Case, Event, ProcessDefinition, TaskRow, TimerRow

MAX_PER_PAGE = 200


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int


def _scoped(session, principal, column):
    """The principal's scope on an organisation path column, for `where(*...)`.

    On SQLite the prefix match is also written as a range of paths: SQLite's `LIKE` is
    case-insensitive, so its planner never turns it into an index range, and a street's
    overdue list would scan every overdue task of the province. With the range it reads the
    street's slice of the (state, org_path) index. (PostgreSQL with a C collation, as set up
    here, already uses the index for `LIKE 'prefix%'`.)
    """
    conditions = [scope_clause(principal, column)]
    paths = principal.paths
    if not principal.is_admin and len(paths) == 1 and session.bind.dialect.name == "sqlite":
        prefix = paths[0]  # several prefixes (a company's compounds) stay a plain OR of LIKEs
        conditions += [column >= prefix, column < prefix[:-1] + chr(ord(prefix[-1]) + 1)]
    return conditions


def _page(session, query, page, per_page, order_by):
    page = max(1, int(page or 1))
    per_page = min(MAX_PER_PAGE, max(1, int(per_page or 50)))
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = session.scalars(query.order_by(*order_by).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), total, page, per_page)


def list_processes(session, page=1, per_page=50):
    newest = (select(ProcessDefinition.process_id, func.max(ProcessDefinition.version).label("v"))
              .group_by(ProcessDefinition.process_id).subquery())
    query = select(ProcessDefinition).join(
        newest, (ProcessDefinition.process_id == newest.c.process_id)
        & (ProcessDefinition.version == newest.c.v))
    return _page(session, query, page, per_page, [ProcessDefinition.process_id])


def process_versions(session, process_id):
    return session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
                           .order_by(ProcessDefinition.version.desc())).all()


def list_cases(session, principal, process_id=None, status=None, overdue=False, compound=None,
               now=None, page=1, per_page=50):
    query = select(Case).where(*_scoped(session, principal, Case.org_path))
    if process_id:
        query = query.where(Case.process_id == process_id)
    if status:
        query = query.where(Case.status == status)
    if compound:
        query = query.where(Case.compound == compound)
    if overdue:
        late = select(TaskRow.case_id).where(TaskRow.state == "ready", TaskRow.due_at < now)
        query = query.where(Case.id.in_(late))
    return _page(session, query, page, per_page, [Case.started_at.desc(), Case.id])


def get_case(session, principal, case_id):
    case = session.get(Case, str(case_id))
    if case is None or not in_scope(principal, case.org_path):
        raise NotFound("未找到该案件")
    return case


# Built once: every answer about a case (API, case page, each completion's reply) runs these.
_CASE_TASKS = select(TaskRow).where(TaskRow.case_id == bindparam("case_id"),
                                    TaskRow.state.in_(bindparam("states", expanding=True))) \
    .order_by(TaskRow.created_at, TaskRow.id)
_CASE_TIMERS = select(TimerRow).where(TimerRow.case_id == bindparam("case_id")).order_by(TimerRow.due_at)


def case_tasks(session, case_id, states=("ready",)):
    return session.scalars(_CASE_TASKS, {"case_id": case_id, "states": list(states)}).all()


def case_timers(session, case_id):
    return session.scalars(_CASE_TIMERS, {"case_id": case_id}).all()


def list_tasks(session, principal, case_id=None, state=None, overdue=False, now=None,
               assignee=None, process_id=None, page=1, per_page=50):
    query = select(TaskRow).where(*_scoped(session, principal, TaskRow.org_path))
    if case_id:
        query = query.where(TaskRow.case_id == str(case_id))
    if state:
        query = query.where(TaskRow.state == state)
    elif not case_id:
        query = query.where(TaskRow.state == "ready")
    if overdue:
        query = query.where(TaskRow.state == "ready", TaskRow.due_at < now)
    if assignee:
        query = query.where(TaskRow.assignee == assignee)
    if process_id:
        query = query.where(TaskRow.process_id == process_id)
    # Overdue first, then by due date (tasks without a due date last), then oldest first.
    return _page(session, query, page, per_page,
                 [TaskRow.due_at.is_(None), TaskRow.due_at, TaskRow.created_at, TaskRow.id])


def get_task(session, principal, task_id):
    row = session.get(TaskRow, str(task_id))
    if row is None or not in_scope(principal, row.org_path):
        raise NotFound("未找到该任务")
    return row


def list_events(session, principal, case_id, page=1, per_page=200):
    get_case(session, principal, case_id)
    query = select(Event).where(Event.case_id == str(case_id))
    return _page(session, query, page, per_page, [Event.id])
