"""Who may see and do what: organisation scope and candidate groups.

Scope is a prefix match on the organisation path (province/city/district/street/community/
compound), so "everything in my street" is one indexed `LIKE 'path%'`. A property company is
not a node of that tree: it sees the compounds it manages, wherever they are, so its principal
carries the paths of those compounds (computed once when the principal is built, from each
compound's `attributes["enterprise_code"]`) and its scope is "any of these prefixes". An owners'
committee member belongs to its compound and sees that compound's cases. A task may be acted on by
the roles in its candidate groups (Camunda `candidateGroups`); supervisors see every task in
their area but act only where they are candidates. Anything outside a user's scope is reported
as not found, so ids cannot be probed.
"""
from dataclasses import dataclass

from sqlalchemy import false, or_, select, true

ROLES = ("admin", "bureau", "street", "clerk", "owners", "company")
ROLE_NAMES = {"admin": "系统管理员", "bureau": "住建部门", "street": "街道（乡镇）",
              "clerk": "社区", "owners": "业主委员会", "company": "物业服务企业"}
SUPERVISORS = ("admin", "bureau", "street")


@dataclass(frozen=True)
class Principal:
    username: str
    role: str
    org_code: str | None = None
    org_path: str = ""
    # When set, the prefixes this principal may see instead of `org_path` alone (a company:
    # its own organisation and every compound it manages).
    scope_paths: tuple = ()

    @property
    def paths(self):
        if self.scope_paths:
            return tuple(p for p in self.scope_paths if p)
        return (self.org_path,) if self.org_path else ()

    @property
    def is_admin(self):
        return self.role == "admin"

    @property
    def is_supervisor(self):
        return self.role in SUPERVISORS


SYSTEM = Principal("engine", "admin")


def scope_clause(principal, column):
    """A SQL condition restricting `column` (an org path) to what the principal may see."""
    if principal.is_admin:
        return true()
    paths = principal.paths
    if not paths:
        return false()
    if len(paths) == 1:
        return column.like(paths[0] + "%")
    return or_(*(column.like(p + "%") for p in paths))


def in_scope(principal, org_path):
    if principal.is_admin:
        return True
    return any((org_path or "").startswith(p) for p in principal.paths)


def managed_compound_paths(session, enterprise_code):
    """The organisation paths of the compounds an enterprise manages, by their attributes."""
    from engine.models import Organisation
    return session.scalars(
        select(Organisation.path).where(
            Organisation.kind == "compound",
            Organisation.attributes["enterprise_code"].as_string() == enterprise_code)
        .order_by(Organisation.path)).all()


def principal_for(session, user):
    """The principal of a user: role, organisation and what that lets the user see.

    A company user whose organisation is an enterprise sees its own organisation and the
    compounds the enterprise manages; everyone else sees their organisation's subtree.
    """
    from engine.models import Organisation
    org = session.get(Organisation, user.org_code) if user.org_code else None
    return principal_of(session, user.username, user.role, user.org_code,
                        org.path if org else "", org.kind if org else None)


def principal_of(session, username, role, org_code, org_path, org_kind):
    """`principal_for` from a user's fields and organisation already read (the API's token
    check reads them in one query); the session is asked only for a company's compounds."""
    scope = ()
    if role == "company" and org_kind == "enterprise":
        scope = (org_path, *managed_compound_paths(session, org_code))
    return Principal(username, role, org_code, org_path or "", scope)


def may_act(principal, task):
    """May this principal complete or claim this (visible) task?"""
    if not in_scope(principal, task.org_path):
        return False
    if task.assignee and task.assignee != principal.username and not principal.is_admin:
        return False
    if principal.is_admin:
        return True
    return not task.candidate_groups or principal.role in task.candidate_groups
