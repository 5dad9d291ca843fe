"""The administrative tree as the statistics tables count it, and how names become nodes.

Government spreadsheets name a compound's city, district, street and community in words, not
codes; `AdminTree` turns those names into `Organisation` nodes under the province, reusing a
node of that name under that parent and planning a new one (with a code in the style of the
national administrative division codes: city 4 digits, district 6, street 9, community 12)
when there is none. Everything is planned in memory first, so an import can be validated
whole before anything is written.
"""
from dataclasses import dataclass, field

from sqlalchemy import select

from engine.models import Organisation
from workflows.shanxi_divisions import PROVINCE, known_divisions

PROVINCE_CODE, PROVINCE_NAME = PROVINCE

# The five ways a compound is managed, in the order of the provincial and city tables.
MANAGEMENT_TYPES = {
    "enterprise": "物业服务企业管理",
    "community_trust": "社区（村）托管",
    "work_unit": "单位自管",
    "owner_self": "业主自管",
    "none": "无物业管理",
}

# Official division codes of Shanxi's cities and counties: a node created from one of these
# names under its parent gets its real code.
KNOWN_DIVISIONS = known_divisions()

# Levels of the tree below the province, top down, and the digits each adds to its parent's code.
ADMIN_LEVELS = ("city", "district", "street", "community")
LEVEL_DIGITS = {"city": 2, "district": 2, "street": 3, "community": 3}
KIND_NAMES = {"province": "省", "city": "市", "district": "县（市、区）", "street": "街道（乡镇）",
              "community": "社区（村）", "compound": "小区", "enterprise": "物业服务企业"}
ADMIN_KINDS = ("province", *ADMIN_LEVELS)
CREDIT_GRADE_NAMES = {"A": "A级", "B": "B级", "C": "C级", "D": "D级"}


def clean_text(value):
    """A cell as text: numbers without a trailing `.0`, surrounding (full-width) spaces gone."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\u3000", " ").strip()


@dataclass
class Node:
    code: str
    name: str
    kind: str
    parent_code: str | None
    path: str
    new: bool = False
    children: dict = field(default_factory=dict)  # (kind, name) -> code


class AdminTree:
    """The province's administrative nodes, loaded once, with new ones planned beside them."""

    def __init__(self, session, province_code=PROVINCE_CODE, province_name=PROVINCE_NAME):
        self.nodes = {}
        self._counters = {}
        self.taken = set(session.scalars(select(Organisation.code)))
        rows = session.execute(
            select(Organisation.code, Organisation.name, Organisation.kind,
                   Organisation.parent_code, Organisation.path)
            .where(Organisation.kind.in_(ADMIN_KINDS)).order_by(Organisation.path)).all()
        for row in rows:
            self.nodes[row.code] = Node(row.code, row.name, row.kind, row.parent_code, row.path)
        for node in self.nodes.values():
            parent = self.nodes.get(node.parent_code)
            if parent is not None:
                parent.children.setdefault((node.kind, node.name), node.code)
        self.province = self.nodes.get(province_code)
        if self.province is None:
            self.province = self._plan(province_code, province_name, "province", None, "")

    def _plan(self, code, name, kind, parent, parent_path):
        node = Node(code, name, kind, parent.code if parent else None, f"{parent_path}{code}/",
                    new=True)
        self.nodes[code] = node
        self.taken.add(code)
        if parent is not None:
            parent.children[(kind, name)] = code
        return node

    def reserve(self, codes):
        """Codes the file itself uses (compounds, enterprises): never hand them to a new node."""
        self.taken.update(codes)

    def child(self, parent, kind, name):
        """The node `name` of `kind` under `parent`; planned (with a new code) when missing.

        A cell may also hold the code of an existing node of that kind under that parent.
        """
        code = parent.children.get((kind, name))
        if code is None:
            by_code = self.nodes.get(name)
            if by_code is not None and by_code.kind == kind and by_code.parent_code == parent.code:
                return by_code
            known = KNOWN_DIVISIONS.get((parent.code, name))
            code = known if known and known not in self.taken else self._next_code(parent, kind)
            return self._plan(code, name, kind, parent, parent.path)
        return self.nodes[code]

    def resolve(self, names):
        """The community node for (city, district, street, community) names, planned as needed."""
        node = self.province
        for kind, name in zip(ADMIN_LEVELS, names):
            node = self.child(node, kind, name)
        return node

    def _next_code(self, parent, kind):
        """After the parent's highest numbered child; a code taken by anything is skipped."""
        digits = LEVEL_DIGITS[kind]
        number = self._counters.get(parent.code)
        if number is None:
            suffixes = [c[len(parent.code):] for c in parent.children.values()
                        if c.startswith(parent.code) and len(c) == len(parent.code) + digits]
            number = max((int(s) for s in suffixes if s.isdigit()), default=0)
        while True:
            number += 1
            width = digits if number < 10 ** digits else len(str(number))  # widen, never fail
            code = f"{parent.code}{number:0{width}d}"
            if code not in self.taken:
                self._counters[parent.code] = number
                return code

    def new_nodes(self):
        """Planned nodes, parents before children."""
        return sorted((n for n in self.nodes.values() if n.new), key=lambda n: n.path.count("/"))
