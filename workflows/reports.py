"""The statistics tables that go to the level above, counted from the organisation tree.

- coverage: compounds by way of management (`attributes["management_type"]`), as they stand;
- credit: enterprises by credit grade for one rating year (the latest `rating` record of each
  enterprise for that year);
- cases: rectifications (opened, closed, closed on time, overdue, escalated) and joint meetings
  held in a period, as `workflows.statistics` counts them.

Each table is for one scope (an administrative node and everything under it; no scope is
everything) and breaks down by one level below it (city, district, street or community). An
enterprise belongs to the areas of the compounds it manages: it counts once in each area where
it manages a compound, and once in the scope's total; at the top of the tree (no scope, or a
root node such as the province) every rated enterprise counts, whether it manages a compound or
not. Percentages are rounded half up to two decimals, as the published tables are.

The counts are aggregate queries grouped by a compound's parent; the roll-up to the wanted level
walks the (small) set of administrative nodes in memory, so a province of tens of thousands of
compounds is answered in well under a second.
"""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import distinct, func, select

from engine.access import in_scope
from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.calendar import CHINA_TZ
from engine.models import Case, Event, Organisation
from workflows.models import CREDIT_GRADES, CreditRecord
from workflows.organisations import ADMIN_KINDS, ADMIN_LEVELS, KIND_NAMES, MANAGEMENT_TYPES

UNSPECIFIED = "unspecified"  # a compound whose way of management is not recorded
REPORT_ROLES = ("admin", "bureau", "street", "clerk")
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def percent(part, whole):
    """`part` of `whole` in percent, rounded half up to two decimals (0 when there is no whole)."""
    if not whole:
        return 0.0
    return float((Decimal(part) * HUNDRED / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Scope:
    """What a table counts: `org` None means everything."""

    org: Organisation | None = None

    @property
    def path(self):
        return self.org.path if self.org is not None else ""

    @property
    def kind(self):
        return self.org.kind if self.org is not None else None

    @property
    def is_top(self):
        return self.org is None or self.org.parent_code is None

    def describe(self):
        if self.org is None:
            return {"code": None, "name": "全部", "kind": None}
        return {"code": self.org.code, "name": self.org.name, "kind": self.org.kind}


def resolve_scope(session, org_code=None, principal=None):
    """The scope of a table: the organisation asked for, else the principal's own (else all).

    An organisation outside the principal's area is reported as unknown, like a case would be.
    """
    if principal is not None and principal.role not in REPORT_ROLES:
        raise Forbidden("只有住建部门、街道（乡镇）、社区和管理员可以查看统计报表")
    if not org_code and principal is not None and not principal.is_admin:
        org_code = principal.org_code
    if not org_code:
        return Scope(None)
    org = session.get(Organisation, org_code)
    if org is None or (principal is not None and not in_scope(principal, org.path)):
        raise NotFound(f"未找到组织 {org_code}")
    if org.kind not in ADMIN_KINDS:
        raise ValidationFailed("统计范围必须是行政区划", fields={"org": [
            f"{org.name}（{KIND_NAMES.get(org.kind, org.kind)}）不是省、市、县（市、区）、街道（乡镇）或社区（村）"]})
    return Scope(org)


def breakdown_level(scope, by=None):
    """The level the rows break down by: `by`, or the one right below the scope (None: none)."""
    below = ADMIN_LEVELS if scope.kind in (None, "province") else \
        ADMIN_LEVELS[ADMIN_LEVELS.index(scope.kind) + 1:]
    if by is None or by == "":
        return below[0] if below else None
    if by not in ADMIN_LEVELS:
        raise ValidationFailed("分组层级无效", fields={"by": [f"应为 {', '.join(ADMIN_LEVELS)} 之一"]})
    if by not in below:
        raise ValidationFailed("分组层级无效", fields={"by": [
            f"{scope.describe()['name']}以下没有{KIND_NAMES[by]}一级，可选：{', '.join(below) or '无'}"]})
    return by


class _Areas:
    """The administrative nodes of a scope, to roll a compound's parent up to a level."""

    def __init__(self, session, scope, level):
        self.level = level
        query = select(Organisation.code, Organisation.name, Organisation.kind, Organisation.path) \
            .where(Organisation.kind.in_(ADMIN_KINDS))
        if scope.path:
            query = query.where(Organisation.path.like(scope.path + "%"))
        self.nodes = {row.code: row for row in session.execute(query)}
        self._cache = {}

    def area_of(self, parent_code):
        """The code of the node at the level above (or at) `parent_code`, or None."""
        if parent_code in self._cache:
            return self._cache[parent_code]
        found = None
        node = self.nodes.get(parent_code)
        if node is not None:
            for code in node.path.strip("/").split("/"):
                ancestor = self.nodes.get(code)
                if ancestor is not None and ancestor.kind == self.level:
                    found = code
                    break
        self._cache[parent_code] = found
        return found

    def area_of_path(self, path):
        """The code of the node at the level on an organisation path (a case's place), or None."""
        if path in self._cache:
            return self._cache[path]
        found = None
        for code in (path or "").strip("/").split("/"):
            node = self.nodes.get(code)
            if node is not None and node.kind == self.level:
                found = code
                break
        self._cache[path] = found
        return found

    def listed(self):
        """Every node of the level, in code order, so an area with nothing still shows."""
        return sorted((n for n in self.nodes.values() if n.kind == self.level), key=lambda n: n.code)


def _compound_filter(query, scope):
    query = query.where(Organisation.kind == "compound")
    if scope.path:
        query = query.where(Organisation.path.like(scope.path + "%"))
    return query


# -- coverage -------------------------------------------------------------------------------

def _coverage_body(counts):
    total = sum(counts.values())
    body = {key: {"count": counts.get(key, 0), "percent": percent(counts.get(key, 0), total)}
            for key in MANAGEMENT_TYPES}
    if counts.get(UNSPECIFIED):
        body[UNSPECIFIED] = {"count": counts[UNSPECIFIED], "percent": percent(counts[UNSPECIFIED], total)}
    return {"total": total, "by_management_type": body}


def coverage(session, scope=None, by=None, with_rows=True):
    """`{"total", "by_management_type": {type: {"count", "percent"}}}` plus, with rows, the
    scope, the level and one such table per area of that level."""
    scope = scope or Scope(None)
    management = Organisation.attributes["management_type"].as_string()
    grouped = session.execute(_compound_filter(
        select(Organisation.parent_code, management, func.count()), scope)
        .group_by(Organisation.parent_code, management)).all()
    totals = {}
    for _parent, kind, count in grouped:
        key = kind if kind in MANAGEMENT_TYPES else UNSPECIFIED
        totals[key] = totals.get(key, 0) + count
    report = _coverage_body(totals)
    if not with_rows:
        return report
    level = breakdown_level(scope, by)
    rows = []
    if level is not None:
        areas = _Areas(session, scope, level)
        per_area = {}
        for parent, kind, count in grouped:
            area = areas.area_of(parent)
            key = kind if kind in MANAGEMENT_TYPES else UNSPECIFIED
            bucket = per_area.setdefault(area, {})
            bucket[key] = bucket.get(key, 0) + count
        rows = [{"code": n.code, "name": n.name, **_coverage_body(per_area.get(n.code, {}))}
                for n in areas.listed()]
        if per_area.get(None):  # compounds hung directly above the level
            rows.append({"code": None, "name": f"（未归入{KIND_NAMES[level]}）",
                         **_coverage_body(per_area[None])})
    return {**report, "org": scope.describe(), "level": level, "rows": rows}


# -- credit ---------------------------------------------------------------------------------

def rating_years(session):
    return list(session.scalars(select(CreditRecord.year).where(CreditRecord.kind == "rating")
                                .distinct().order_by(CreditRecord.year.desc())))


def _grades(session, year):
    """enterprise code -> grade, the latest rating of each enterprise for `year`."""
    latest = select(func.max(CreditRecord.id)).where(
        CreditRecord.kind == "rating", CreditRecord.year == year,
        CreditRecord.grade.is_not(None)).group_by(CreditRecord.enterprise_code)
    return dict(session.execute(select(CreditRecord.enterprise_code, CreditRecord.grade)
                                .where(CreditRecord.id.in_(latest))).all())


def _credit_body(year, grades):
    counts = {grade: 0 for grade in CREDIT_GRADES}
    for grade in grades:
        if grade in counts:
            counts[grade] += 1
    return {"year": year, "total": sum(counts.values()), "by_grade": counts}


def credit(session, scope=None, year=None, by=None, with_rows=True, today=None):
    """`{"year", "total", "by_grade": {"A": n, ...}}` plus, with rows, the scope, the level and
    one such table per area. The year defaults to the latest rating year on record."""
    scope = scope or Scope(None)
    if year is None:
        years = rating_years(session)
        year = years[0] if years else (today or date.today()).year
    grades = _grades(session, year)
    managed = []  # (parent of a compound, enterprise managing it)
    needs_places = not scope.is_top or (with_rows and breakdown_level(scope, by) is not None)
    if needs_places:
        enterprise = Organisation.attributes["enterprise_code"].as_string()
        managed = session.execute(_compound_filter(
            select(Organisation.parent_code, enterprise), scope)
            .where(enterprise.is_not(None)).distinct()).all()
    if scope.is_top:
        in_scope_codes = set(grades)
    else:
        in_scope_codes = {code for _parent, code in managed if code in grades}
    report = _credit_body(year, (grades[c] for c in in_scope_codes))
    if not with_rows:
        return report
    level = breakdown_level(scope, by)
    rows = []
    if level is not None:
        areas = _Areas(session, scope, level)
        per_area = {}
        for parent, code in managed:
            if code in grades:
                per_area.setdefault(areas.area_of(parent), set()).add(code)
        rows = [{"code": n.code, "name": n.name,
                 **_credit_body(year, (grades[c] for c in per_area.get(n.code, ())))}
                for n in areas.listed()]
    return {**report, "org": scope.describe(), "level": level, "rows": rows}


# -- cases ----------------------------------------------------------------------------------
#
# The figures are those of `workflows.statistics` (same definitions, same constants; a test holds
# the two to the same numbers). Its functions count one area per call and read every closed
# case's data; a table of a province would scan the cases once per area. Here each figure is one
# query grouped by the case's place, reading only the two or three data fields it needs, and the
# places are rolled up to the areas in memory.

FIGURES = {"rectifications": ("opened", "closed", "closed_on_time", "overdue", "escalated"),
           "joint_meetings": ("held",)}


def _empty_figures():
    return {group: dict.fromkeys(names, 0) for group, names in FIGURES.items()}


def _case_figures(session, scope, first, last):
    """{org path: figures} of the cases in scope for the period, one query per figure."""
    from workflows import statistics as st
    start, end = st.period_bounds(first, last)
    place = Case.org_path
    in_scope = place.like(scope.path + "%") if scope.path else place != ""
    figures = {}

    def add(path, group, name, count=1):
        if path not in figures:
            figures[path] = _empty_figures()
        figures[path][group][name] += count

    opened = session.execute(select(place, func.count()).where(
        Case.process_id == st.RECTIFICATION, in_scope, Case.started_at >= start,
        Case.started_at < end).group_by(place))
    for path, count in opened:
        add(path, "rectifications", "opened", count)
    closed = session.execute(select(
        place, Case.completed_at, Case.data["outcome"].as_string(),
        Case.data["rectification_deadline"].as_string()).where(
        Case.process_id == st.RECTIFICATION, in_scope, Case.status == "completed",
        Case.completed_at >= start, Case.completed_at < end))
    for path, completed_at, outcome, deadline in closed:
        add(path, "rectifications", "closed")
        if outcome == "rectified" and deadline and \
                completed_at.astimezone(CHINA_TZ).date() <= date.fromisoformat(deadline):
            add(path, "rectifications", "closed_on_time")
    for name, kind, element in (("overdue", "timer_fired", st.DEADLINE_TIMER),
                                ("escalated", "task_completed", st.ESCALATION_STEP)):
        rows = session.execute(
            select(place, func.count(distinct(Event.case_id))).join(Case, Case.id == Event.case_id)
            .where(Event.kind == kind, Event.element == element, Event.at >= start, Event.at < end,
                   Case.process_id == st.RECTIFICATION, in_scope).group_by(place))
        for path, count in rows:
            add(path, "rectifications", name, count)
    held_on = func.substr(Case.data["held_on"].as_string(), 1, 10)
    held = session.execute(select(place, func.count()).where(
        Case.process_id == st.JOINT_MEETING, in_scope, Case.status != "cancelled",
        Case.started_at < end, held_on >= first.isoformat(), held_on <= last.isoformat())
        .group_by(place))
    for path, count in held:
        add(path, "joint_meetings", "held", count)
    return figures


def _add_figures(total, figures):
    for group, names in figures.items():
        for name, value in names.items():
            total[group][name] += value
    return total


def cases(session, scope=None, period_start=None, period_end=None, by=None, with_rows=True):
    """Rectifications (opened, closed, closed on time, overdue, escalated) and joint meetings
    held in a period, for the scope and per area."""
    from workflows import statistics
    scope = scope or Scope(None)
    try:
        statistics.period_bounds(period_start, period_end)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("统计期间无效", fields={"period": [str(exc)]}) from exc
    first, last = (date.fromisoformat(d) if isinstance(d, str) else d for d in (period_start, period_end))
    per_place = _case_figures(session, scope, first, last)
    totals = _empty_figures()
    for figures in per_place.values():
        _add_figures(totals, figures)
    report = {"period_start": first.isoformat(), "period_end": last.isoformat(), **totals}
    if not with_rows:
        return report
    level = breakdown_level(scope, by)
    rows = []
    if level is not None:
        areas = _Areas(session, scope, level)
        per_area = {}
        for path, figures in per_place.items():
            area = areas.area_of_path(path)
            _add_figures(per_area.setdefault(area, _empty_figures()), figures)
        rows = [{"code": n.code, "name": n.name, **per_area.get(n.code, _empty_figures())}
                for n in areas.listed()]
    return {**report, "org": scope.describe(), "level": level, "rows": rows}
