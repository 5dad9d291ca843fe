"""`linkage import orgs FILE`: compounds or enterprises from a CSV or XLSX file, all or nothing.

The header row tells the kind of file (the column sets of the public contract, in any order;
the Chinese column names of the usual government forms are accepted too). Every row is checked
before anything is written; when any row is bad the whole file is refused with each bad row
named by its row number in the file (the header is row 1, as a spreadsheet shows it) and the
reason, and nothing changes. A good file is written in one transaction; importing it again
updates what changed (names, places, way of management, managing enterprise, the year's credit
grade) and creates nothing twice.

Compounds: `city, district, street, community` hold names (the code of an existing node is
accepted as well); missing nodes of the administrative tree are created under the province with
codes in the style of the administrative division codes. A compound's way of management and
managing enterprise go to its `attributes` (`management_type`, `enterprise_code`); a compound
managed by an enterprise must name one that is already known (import the enterprises first).

Enterprises: an `Organisation` of kind `enterprise` and, when a grade is given, its credit
rating for that year (`CreditRecord` of kind `rating`, one per enterprise and year).
"""
import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import insert, select, update

from engine.errors import ValidationFailed
from engine.models import Case, Organisation, TaskRow
from workflows.models import CREDIT_GRADES, CreditRecord
from workflows.organisations import MANAGEMENT_TYPES, AdminTree, clean_text

COMPOUND_COLUMNS = ("code", "name", "city", "district", "street", "community", "management_type",
                    "enterprise_code")
ENTERPRISE_COLUMNS = ("code", "name", "credit_grade", "rating_year")
# Column titles of the forms people already keep, mapped to the contract's names.
COLUMN_ALIASES = {
    "代码": "code", "编码": "code", "小区代码": "code", "小区编码": "code", "企业代码": "code",
    "统一社会信用代码": "code", "名称": "name", "小区名称": "name", "企业名称": "name",
    "市": "city", "城市": "city", "县（市、区）": "district", "县区": "district", "区县": "district",
    "街道（乡镇）": "street", "街道": "street", "乡镇": "street", "社区（村）": "community",
    "社区": "community", "管理方式": "management_type", "物业企业代码": "enterprise_code",
    "物业服务企业代码": "enterprise_code", "信用等级": "credit_grade", "评价等级": "credit_grade",
    "评级年度": "rating_year", "年度": "rating_year",
}
# The way of management may also be written as in the tables.
MANAGEMENT_ALIASES = {label: key for key, label in MANAGEMENT_TYPES.items()} | {
    "物业企业": "enterprise", "物业服务企业": "enterprise", "专业物业企业管理": "enterprise",
    "社区托管": "community_trust", "村托管": "community_trust", "单位管理": "work_unit",
    "无物业": "none", "无": "none"}
MAX_ROWS = 200_000
MAX_TEXT = {"code": 64, "name": 200, "city": 200, "district": 200, "street": 200,
            "community": 200, "enterprise_code": 64}
MIN_YEAR = 1990
HEADER_SEARCH = 5


class ImportRefused(ValidationFailed):
    """The file as a whole is refused; `problems` lists (row number, reason), row 0 = the file."""

    def __init__(self, message, problems):
        super().__init__(message, fields={
            (f"第 {row} 行" if row else "文件"): [reason] for row, reason in merged(problems)})
        self.problems = problems


def merged(problems):
    """One (row, reasons joined) per bad row, in row order: how the row is reported."""
    by_row = {}
    for row, reason in problems:
        by_row.setdefault(row, []).append(reason)
    return [(row, "；".join(reasons)) for row, reasons in sorted(by_row.items())]


@dataclass
class ImportResult:
    kind: str  # "compounds" or "enterprises"
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    new_areas: list = field(default_factory=list)  # (kind, code, name) of created tree nodes
    ratings: int = 0


class _NoProgress:
    def start(self, label, total):
        pass

    def advance(self, count=1):
        pass

    def finish(self):
        pass


# -- reading --------------------------------------------------------------------------------

def read_table(path):
    """The file's rows as lists of text, header first: CSV (UTF-8 or GB18030) or XLSX."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path.read_bytes())
    raise ImportRefused("不支持的文件类型", [(0, f"只能导入 CSV 或 XLSX 文件，而不是 {path.suffix or '无扩展名的文件'}")])


def _read_csv(raw):
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportRefused("无法读取文件", [(0, "文件编码无法识别，请另存为 UTF-8 编码的 CSV")])
    try:
        return [[clean_text(cell) for cell in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise ImportRefused("无法读取文件", [(0, f"CSV 格式错误：{exc}")]) from exc


def _read_xlsx(path):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    from zipfile import BadZipFile
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError) as exc:
        raise ImportRefused("无法读取文件", [(0, f"不是有效的 XLSX 文件：{exc.__class__.__name__}")]) from exc
    try:
        sheet = book.worksheets[0]
        return [[clean_text(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def file_kind(header, row_number=1):
    """'compounds' or 'enterprises' from the header row, and each column's contract name."""
    names = [COLUMN_ALIASES.get(h, h.lower()) for h in header]
    while names and not names[-1]:
        names.pop()
    present = set(names)
    for kind, columns in (("compounds", COMPOUND_COLUMNS), ("enterprises", ENTERPRISE_COLUMNS)):
        if present == set(columns) and len(names) == len(columns):
            return kind, names
    compound_like = len(present & set(COMPOUND_COLUMNS)) >= len(present & set(ENTERPRISE_COLUMNS))
    wanted = COMPOUND_COLUMNS if compound_like else ENTERPRISE_COLUMNS
    missing = [c for c in wanted if c not in present]
    extra = [h for h, n in zip(header, names) if n not in wanted]
    duplicated = sorted({n for n in names if names.count(n) > 1 and n})
    reasons = []
    if missing:
        reasons.append(f"缺少列：{', '.join(missing)}")
    if extra:
        reasons.append(f"无法识别的列：{', '.join(extra)}")
    if duplicated:
        reasons.append(f"重复的列：{', '.join(duplicated)}")
    raise ImportRefused("表头无法识别", [(row_number, "表头应为小区列 " + ",".join(COMPOUND_COLUMNS)
                                         + " 或企业列 " + ",".join(ENTERPRISE_COLUMNS)
                                         + "（" + "；".join(reasons or ["列不符"]) + "）")])


def _header_row(table):
    """Forms often start with a title row or two above the header: skip up to HEADER_SEARCH."""
    for index, row in enumerate(table[:HEADER_SEARCH]):
        try:
            file_kind(row)
            return index
        except ImportRefused:
            continue
    return next(i for i, row in enumerate(table) if any(row))


def parse(table):
    """(kind, [(row number, {column: text})]) of the non-empty data rows."""
    if not table or not any(any(row) for row in table):
        raise ImportRefused("文件是空的", [(0, "文件没有表头行")])
    header_at = _header_row(table)
    kind, names = file_kind(table[header_at], header_at + 1)
    rows = []
    for number, cells in enumerate(table[header_at + 1:], start=header_at + 2):
        if not any(cells):
            continue
        record = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(names)}
        overflow = [c for c in cells[len(names):] if c]
        if overflow:
            record["_overflow"] = True
        rows.append((number, record))
    if not rows:
        raise ImportRefused("文件没有数据", [(0, "表头之后没有数据行")])
    if len(rows) > MAX_ROWS:
        raise ImportRefused("文件过大", [(0, f"一次最多导入 {MAX_ROWS} 行，本文件有 {len(rows)} 行")])
    return kind, rows


# -- checking -------------------------------------------------------------------------------

def _common_problems(record, required):
    problems = []
    if record.get("_overflow"):
        problems.append("本行的列数多于表头")
    for column in required:
        if not record.get(column):
            problems.append(f"{column} 不能为空")
    for column, limit in MAX_TEXT.items():
        if len(record.get(column) or "") > limit:
            problems.append(f"{column} 超过 {limit} 个字符")
    code = record.get("code") or ""
    if code and (any(ch in code for ch in "/%_ \t") or not code.isprintable()):
        problems.append(f"代码“{code}”含有不允许的字符（斜杠、百分号、下划线或空白）")
    return problems


def _duplicates(rows):
    first_seen, problems = {}, []
    for number, record in rows:
        code = record.get("code")
        if not code:
            continue
        if code in first_seen:
            problems.append((number, f"代码 {code} 与第 {first_seen[code]} 行重复"))
        else:
            first_seen[code] = number
    return problems


def _existing(session, codes):
    found = {}
    codes = list(codes)
    for start in range(0, len(codes), 900):  # stay below SQLite's bound-parameter limit
        for org in session.scalars(select(Organisation).where(
                Organisation.code.in_(codes[start:start + 900]))):
            found[org.code] = org
    return found


def _kind_clash(org, wanted, kind_names):
    if org is not None and org.kind != wanted:
        return f"代码 {org.code} 已被{kind_names.get(org.kind, org.kind)}“{org.name}”使用"
    return None


def check_compounds(session, rows, tree):
    """The planned compounds, or the problems of the bad rows."""
    from workflows.organisations import KIND_NAMES
    problems = _duplicates(rows)
    existing = _existing(session, [r["code"] for _, r in rows if r.get("code")])
    enterprise_codes = {r["enterprise_code"] for _, r in rows if r.get("enterprise_code")}
    enterprises = {o.code: o for o in _existing(session, enterprise_codes).values()}
    tree.reserve(existing)
    tree.reserve(r["code"] for _, r in rows if r.get("code"))
    planned = []
    for number, record in rows:
        reasons = _common_problems(record, ("code", "name", "city", "district", "street",
                                            "community", "management_type"))
        raw_type = record.get("management_type") or ""
        management = MANAGEMENT_ALIASES.get(raw_type, raw_type.lower())
        if raw_type and management not in MANAGEMENT_TYPES:
            reasons.append(f"管理方式“{raw_type}”无效，应为 {', '.join(MANAGEMENT_TYPES)} 之一")
        enterprise_code = record.get("enterprise_code") or ""
        if management == "enterprise" and not enterprise_code:
            reasons.append("管理方式为 enterprise（物业服务企业管理）时必须填写 enterprise_code")
        if enterprise_code:
            enterprise = enterprises.get(enterprise_code)
            if enterprise is None:
                reasons.append(f"物业服务企业 {enterprise_code} 不存在，请先导入企业")
            elif enterprise.kind != "enterprise":
                reasons.append(f"{enterprise_code} 是{KIND_NAMES.get(enterprise.kind, enterprise.kind)}"
                               f"“{enterprise.name}”，不是物业服务企业")
        clash = _kind_clash(existing.get(record.get("code")), "compound", KIND_NAMES)
        if clash:
            reasons.append(clash)
        if reasons:
            problems.extend((number, reason) for reason in reasons)
            continue
        community = tree.resolve([record[k] for k in ("city", "district", "street", "community")])
        planned.append((number, record, management, enterprise_code or None, community))
    return planned, problems


def check_enterprises(session, rows, today):
    from workflows.organisations import KIND_NAMES
    problems = _duplicates(rows)
    existing = _existing(session, [r["code"] for _, r in rows if r.get("code")])
    planned = []
    for number, record in rows:
        reasons = _common_problems(record, ("code", "name"))
        grade = (record.get("credit_grade") or "").upper().replace("级", "")
        year_text = record.get("rating_year") or ""
        year = None
        if grade and grade not in CREDIT_GRADES:
            reasons.append(f"信用等级“{record['credit_grade']}”无效，应为 A、B、C、D 之一")
        if year_text:
            digits = year_text.removesuffix("年度").removesuffix("年")
            if not digits.isdigit() or not MIN_YEAR <= int(digits) <= today.year + 1:
                reasons.append(f"评级年度“{year_text}”无效，应为 {MIN_YEAR} 至 {today.year + 1} 之间的年份")
            else:
                year = int(digits)
        if grade and not year_text:
            reasons.append("填写信用等级时必须填写评级年度 rating_year")
        if year_text and not grade:
            reasons.append("填写评级年度时必须填写信用等级 credit_grade")
        clash = _kind_clash(existing.get(record.get("code")), "enterprise", KIND_NAMES)
        if clash:
            reasons.append(clash)
        if reasons:
            problems.extend((number, reason) for reason in reasons)
            continue
        planned.append((number, record, grade or None, year))
    return planned, existing, problems


# -- writing --------------------------------------------------------------------------------

def _chunks(items, size=1000):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _write_compounds(session, planned, tree, progress, result):
    new_nodes = tree.new_nodes()
    for chunk in _chunks([{"code": n.code, "name": n.name, "kind": n.kind,
                           "parent_code": n.parent_code, "path": n.path, "attributes": {}}
                          for n in new_nodes]):
        session.execute(insert(Organisation), chunk)
    result.new_areas = [(n.kind, n.code, n.name) for n in new_nodes]
    existing = _existing(session, [record["code"] for _, record, *_ in planned])
    inserts, updates, moved = [], [], {}
    for _number, record, management, enterprise_code, community in planned:
        code = record["code"]
        path = f"{community.path}{code}/"
        org = existing.get(code)
        attributes = {**((org.attributes or {}) if org else {}),
                      "management_type": management, "enterprise_code": enterprise_code}
        values = {"code": code, "name": record["name"], "kind": "compound",
                  "parent_code": community.code, "path": path, "attributes": attributes}
        if org is None:
            inserts.append(values)
        elif (org.name, org.parent_code, org.path, org.attributes) != (
                values["name"], values["parent_code"], path, attributes):
            if org.path != path:
                moved[code] = path
            updates.append(values)
        else:
            result.unchanged += 1
    session.expunge_all()  # bulk statements below; no stale identities left in the session
    for chunk in _chunks(inserts):
        session.execute(insert(Organisation), chunk)
        progress.advance(len(chunk))
    for chunk in _chunks(updates):
        session.execute(update(Organisation), chunk)
        progress.advance(len(chunk))
    progress.advance(result.unchanged)
    for code, path in moved.items():
        # A case keeps the place of its compound: a moved compound's cases move with it.
        session.execute(update(Case).where(Case.compound == code).values(org_path=path)
                        .execution_options(synchronize_session=False))
        session.execute(update(TaskRow).where(TaskRow.compound == code).values(org_path=path)
                        .execution_options(synchronize_session=False))
    result.created, result.updated = len(inserts), len(updates)


def _write_enterprises(session, planned, existing, now, progress, result):
    inserts, updates = [], []
    for _number, record, _grade, _year in planned:
        org = existing.get(record["code"])
        if org is None:
            inserts.append({"code": record["code"], "name": record["name"], "kind": "enterprise",
                            "parent_code": None, "path": f"{record['code']}/", "attributes": {}})
        elif org.name != record["name"]:
            updates.append({"code": org.code, "name": record["name"]})
        else:
            result.unchanged += 1
    session.expunge_all()
    for chunk in _chunks(inserts):
        session.execute(insert(Organisation), chunk)
    for chunk in _chunks(updates):
        session.execute(update(Organisation), chunk)
    rated = [(record["code"], grade, year) for _n, record, grade, year in planned if grade]
    years = sorted({year for _c, _g, year in rated})
    current = {}
    if years:
        for row in session.execute(
                select(CreditRecord.id, CreditRecord.enterprise_code, CreditRecord.year,
                       CreditRecord.grade)
                .where(CreditRecord.kind == "rating", CreditRecord.year.in_(years))
                .order_by(CreditRecord.id)):
            current[(row.enterprise_code, row.year)] = row  # the latest rating of that year
    new_ratings, changed_ratings = [], []
    changed_codes = set()
    for code, grade, year in rated:
        row = current.get((code, year))
        if row is None:
            new_ratings.append({"enterprise_code": code, "year": year, "grade": grade,
                                "kind": "rating", "note": "导入", "recorded_at": now})
            changed_codes.add(code)
        elif row.grade != grade:
            changed_ratings.append({"id": row.id, "grade": grade, "recorded_at": now,
                                    "note": f"导入（原为 {row.grade} 级）"})
            changed_codes.add(code)
    for chunk in _chunks(new_ratings):
        session.execute(insert(CreditRecord), chunk)
    for chunk in _chunks(changed_ratings):
        session.execute(update(CreditRecord), chunk)
    created_codes = {i["code"] for i in inserts}
    updated_codes = ({u["code"] for u in updates} | changed_codes) - created_codes
    result.created = len(inserts)
    result.updated = len(updated_codes)
    result.unchanged = len(planned) - result.created - result.updated
    result.ratings = len(new_ratings) + len(changed_ratings)
    progress.advance(len(planned))


def import_orgs(database, path, now, progress=None):
    """Import one file in one transaction; raises `ImportRefused` naming every bad row."""
    kind, rows = parse(read_table(path))
    return import_rows(database, kind, rows, now, progress)


def import_rows(database, kind, rows, now, progress=None):
    """Check and write `rows` [(row number, {column: text})] of `kind` ("compounds" or
    "enterprises") in one transaction: all of them, or none and `ImportRefused`."""
    progress = progress or _NoProgress()
    with database.unit_of_work() as session:
        result = ImportResult(kind, len(rows))
        progress.start("校验", len(rows))
        if kind == "compounds":
            tree = AdminTree(session)
            planned, problems = check_compounds(session, rows, tree)
        else:
            planned, existing, problems = check_enterprises(session, rows, _beijing_day(now))
        progress.advance(len(rows))
        progress.finish()
        if problems:
            bad = len({row for row, _ in problems})
            raise ImportRefused(f"文件未导入：{bad} 行有误，请改正后重新导入整个文件", problems)
        progress.start("写入", len(rows))
        if kind == "compounds":
            _write_compounds(session, planned, tree, progress, result)
        else:
            _write_enterprises(session, planned, existing, now, progress, result)
        progress.finish()
    return result


def _beijing_day(now):
    from engine.calendar import CHINA_TZ
    return now.astimezone(CHINA_TZ).date() if now.tzinfo else date.today()
