"""The inbox's and the board's questions, asked of the indexed task projection.

The inbox filters what `engine.queries.list_tasks` cannot: by compound, by due state (overdue,
due today, due within three days) and by "my group" (tasks my role may take, unclaimed or mine).
The board counts overdue and soon-due work by process, compound and organisation path, then
folds the paths into streets, communities and the companies managing the compounds.
"""
from datetime import datetime, time

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy import case as sql_case

from engine.access import scope_clause
from engine.calendar import CHINA_TZ
from engine.models import Organisation, TaskRow
from engine.queries import _page
from web.pages.display import SOON

DUE_FILTERS = ("overdue", "today", "soon")
WHO_FILTERS = ("group", "mine", "all")  # the first is the default


def end_of_day(now):
    """The last moment of today in Beijing."""
    today = now.astimezone(CHINA_TZ).date()
    return datetime.combine(today, time(23, 59, 59, 999999), CHINA_TZ)


def due_condition(due, now):
    if due == "overdue":
        return TaskRow.due_at < now
    if due == "today":
        return and_(TaskRow.due_at >= now, TaskRow.due_at <= end_of_day(now))
    if due == "soon":
        return and_(TaskRow.due_at >= now, TaskRow.due_at <= now + SOON)
    return None


def group_condition(principal):
    """Tasks this principal's role may take: its role among the candidates, or none named.

    Candidate groups are a JSON list of role names; matching its text for `"role"` is the same
    on SQLite and PostgreSQL, and role names hold no quote or wildcard.
    """
    groups = cast(TaskRow.candidate_groups, String)
    return and_(or_(groups.like(f'%"{principal.role}"%'), groups == "[]"),
                or_(TaskRow.assignee.is_(None), TaskRow.assignee == principal.username))


def inbox_tasks(db, principal, now, process=None, compound=None, due=None, who=None,
                page=1, per_page=20):
    query = select(TaskRow).where(TaskRow.state == "ready", scope_clause(principal, TaskRow.org_path))
    if process:
        query = query.where(TaskRow.process_id == process)
    if compound:
        query = query.where(TaskRow.compound == compound)
    condition = due_condition(due, now)
    if condition is not None:
        query = query.where(condition)
    if who == "mine":
        query = query.where(TaskRow.assignee == principal.username)
    elif who == "group" and not principal.is_admin:
        query = query.where(group_condition(principal))
    # Overdue first, then by due date (tasks without a due date last), then oldest first.
    return _page(db, query, page, per_page,
                 [TaskRow.due_at.is_(None), TaskRow.due_at, TaskRow.created_at, TaskRow.id])


def compounds_in_scope(db, principal, limit):
    return db.execute(select(Organisation.code, Organisation.name)
                      .where(Organisation.kind == "compound", scope_clause(principal, Organisation.path))
                      .order_by(Organisation.code).limit(limit)).all()


# -- the board --------------------------------------------------------------------------------
def _counts(now):
    overdue = func.sum(sql_case((TaskRow.due_at < now, 1), else_=0)).label("overdue")
    soon = func.sum(sql_case((and_(TaskRow.due_at >= now, TaskRow.due_at <= now + SOON), 1),
                             else_=0)).label("soon")
    return overdue, soon


def _watched(principal, now):
    return (TaskRow.state == "ready", scope_clause(principal, TaskRow.org_path),
            TaskRow.due_at.is_not(None), TaskRow.due_at <= now + SOON)


def board_counts(db, principal, now):
    """Overdue and soon-due task counts by process, compound, street, community and company.

    Two grouped queries over the watched tasks (by process; by organisation path and compound);
    the rest is folded in Python from at most one row per compound.
    """
    overdue, soon = _counts(now)
    watched = _watched(principal, now)

    def grouped(*columns):
        return db.execute(select(*columns, overdue, soon).where(*watched).group_by(*columns)).all()

    by_process = [(r.process_id, r.overdue or 0, r.soon or 0) for r in grouped(TaskRow.process_id)]
    by_place = grouped(TaskRow.org_path, TaskRow.compound)
    codes = {code for r in by_place for code in r.org_path.split("/") if code}
    codes |= {r.compound for r in by_place if r.compound}
    orgs = {o.code: o for o in db.scalars(select(Organisation).where(Organisation.code.in_(codes)))} \
        if codes else {}
    streets, communities, compounds, companies = {}, {}, {}, {}
    enterprise_codes = set()
    for r in by_place:
        kinds = {orgs[c].kind: c for c in r.org_path.split("/") if c in orgs}
        compound = orgs.get(r.compound)
        company = (compound.attributes or {}).get("enterprise_code") if compound else None
        enterprise_codes.add(company)
        for bucket, key in ((streets, kinds.get("street")), (communities, kinds.get("community")),
                            (compounds, r.compound), (companies, company)):
            counts = bucket.setdefault(key, [0, 0])
            counts[0] += r.overdue or 0
            counts[1] += r.soon or 0
    missing = {c for c in enterprise_codes if c and c not in orgs}
    if missing:
        orgs.update({o.code: o for o in db.scalars(
            select(Organisation).where(Organisation.code.in_(missing)))})

    def rows(bucket):
        return sorted(((key, orgs[key].name if key in orgs else None, o, s)
                       for key, (o, s) in bucket.items()), key=lambda r: (-r[2], -r[3], r[0] or ""))

    return {"process": sorted(by_process, key=lambda r: (-r[1], -r[2], r[0])),
            "street": rows(streets), "community": rows(communities),
            "compound": rows(compounds), "company": rows(companies)}
