"""Who may see and do what: organisation scope and candidate groups.

Scope is a prefix match on the organisation path (province/city/district/street/community/
compound), so "everything in my street" is one indexed `LIKE 'path%'`. A task may be acted on by
the roles in its candidate groups (Camunda `candidateGroups`); supervisors see every task in
their area but act only where they are candidates. Anything outside a user's scope is reported
as not found, so ids cannot be probed.
"""
from dataclasses import dataclass

from sqlalchemy import true

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
    if not principal.org_path:
        return column == "\x00never"
    return column.like(principal.org_path + "%")


def in_scope(principal, org_path):
    if principal.is_admin:
        return True
    return bool(principal.org_path) and (org_path or "").startswith(principal.org_path)


def may_act(principal, task):
    """May this principal complete or claim this (visible) task?"""
    if not in_scope(principal, task.org_path):
        return False
    if task.assignee and task.assignee != principal.username and not principal.is_admin:
        return False
    if principal.is_admin:
        return True
    return not task.candidate_groups or principal.role in task.candidate_groups
