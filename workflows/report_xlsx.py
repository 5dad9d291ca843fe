"""The statistics tables as XLSX files laid out like the government forms they replace.

A title row across the table, a line with the scope, the unit and the date the table was made,
a two-row header (a group such as 物业服务企业管理 over its 数量 and 占比（%）), one row per
area, the 合计 row, and notes under the table. Printing is set to landscape, one page wide,
with the header repeated on every page.
"""
import io
from datetime import date

from workflows.models import CREDIT_GRADES
from workflows.organisations import CREDIT_GRADE_NAMES, KIND_NAMES, MANAGEMENT_TYPES
from workflows.reports import UNSPECIFIED

FONT = "宋体"
PERCENT_FORMAT = "0.00"
HEADER_TOP = 3  # the first header row (after the title and the scope line)


def _chinese_date(day):
    return f"{day.year}年{day.month}月{day.day}日"


def _area_title(report):
    return KIND_NAMES.get(report.get("level"), "地区") if report.get("level") else "地区"


def _scope_name(report):
    return (report.get("org") or {}).get("name") or "全部"


class _Sheet:
    """One table on one sheet: header groups of one or more columns, then rows of values."""

    def __init__(self, title, unit, made_on, groups):
        # openpyxl on first use: the modules of `workflows` are imported at every start-up.
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Border, Font, Side
        from openpyxl.utils import get_column_letter
        self.Alignment, self.Font, self.column_letter = Alignment, Font, get_column_letter
        thin = Side(style="thin")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.center = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.book = Workbook()
        self.sheet = self.book.active
        self.sheet.title = title[:31]
        self.groups = groups  # [(label, [sub label, ...] or None, [number format, ...])]
        self.width = sum(len(subs) if subs else 1 for _label, subs, _fmt in groups)
        self.formats = [f for _label, subs, formats in groups for f in formats]
        self.row = HEADER_TOP + 2
        self._title(title, unit, made_on)
        self._header()

    def _title(self, title, unit, made_on):
        sheet = self.sheet
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=self.width)
        cell = sheet.cell(1, 1, title)
        cell.font = self.Font(name=FONT, size=16, bold=True)
        cell.alignment = self.center
        sheet.row_dimensions[1].height = 32
        half = max(1, self.width // 2)
        sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=half)
        sheet.cell(2, 1, unit).font = self.Font(name=FONT, size=10)
        if self.width > half:
            sheet.merge_cells(start_row=2, start_column=half + 1, end_row=2, end_column=self.width)
            made = sheet.cell(2, half + 1, f"制表日期：{_chinese_date(made_on)}")
            made.font = self.Font(name=FONT, size=10)
            made.alignment = self.Alignment(horizontal="right")

    def _header(self):
        sheet, column = self.sheet, 1
        top, bottom = HEADER_TOP, HEADER_TOP + 1
        for label, subs, _formats in self.groups:
            if not subs:
                sheet.merge_cells(start_row=top, start_column=column, end_row=bottom, end_column=column)
                self._head_cell(top, column, label)
                self._head_cell(bottom, column, None)
                column += 1
                continue
            if len(subs) > 1:
                sheet.merge_cells(start_row=top, start_column=column, end_row=top,
                                  end_column=column + len(subs) - 1)
            self._head_cell(top, column, label)
            for offset, sub in enumerate(subs):
                if offset:
                    self._head_cell(top, column + offset, None)
                self._head_cell(bottom, column + offset, sub)
            column += len(subs)
        for index in range(1, self.width + 1):
            sheet.column_dimensions[self.column_letter(index)].width = 10 if index > 2 else 8
        sheet.column_dimensions["B"].width = 24
        sheet.freeze_panes = sheet.cell(bottom + 1, 3)
        sheet.print_title_rows = f"{top}:{bottom}"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True

    def _head_cell(self, row, column, value):
        cell = self.sheet.cell(row, column, value)
        cell.font = self.Font(name=FONT, size=11, bold=True)
        cell.alignment = self.center
        cell.border = self.border

    def add(self, values, bold=False):
        for column, (value, number_format) in enumerate(zip(values, self.formats), start=1):
            cell = self.sheet.cell(self.row, column, value)
            cell.font = self.Font(name=FONT, size=11, bold=bold)
            cell.border = self.border
            cell.alignment = self.center if column != 2 else self.Alignment(vertical="center", wrap_text=True)
            if number_format:
                cell.number_format = number_format
        self.row += 1

    def notes(self, lines):
        self.row += 1
        for line in lines:
            self.sheet.merge_cells(start_row=self.row, start_column=1, end_row=self.row,
                                   end_column=self.width)
            cell = self.sheet.cell(self.row, 1, line)
            cell.font = self.Font(name=FONT, size=10)
            cell.alignment = self.Alignment(wrap_text=True, vertical="top")
            self.row += 1

    def save(self):
        buffer = io.BytesIO()
        self.book.save(buffer)
        return buffer.getvalue()


def _numbered(report, body_of):
    """The area rows, numbered, then the 合计 row."""
    lines = [[number, row["name"], *body_of(row)] for number, row in enumerate(report["rows"], 1)]
    lines.append(["", "合计", *body_of(report)])
    return lines


def coverage_xlsx(report, made_on=None):
    made_on = made_on or date.today()
    types = list(MANAGEMENT_TYPES)
    if any(UNSPECIFIED in r["by_management_type"] for r in [report, *report["rows"]]):
        types.append(UNSPECIFIED)
    labels = {**MANAGEMENT_TYPES, UNSPECIFIED: "未登记管理方式"}
    groups = [("序号", None, [None]), (_area_title(report), None, [None]),
              ("小区总数", None, ["0"])]
    groups += [(labels[t], ["数量", "占比（%）"], ["0", PERCENT_FORMAT]) for t in types]
    sheet = _Sheet(f"{_scope_name(report)}住宅小区物业管理方式统计表",
                   f"统计范围：{_scope_name(report)}　　单位：个、%", made_on, groups)

    def body(row):
        values = [row["total"]]
        for kind in types:
            entry = row["by_management_type"].get(kind, {"count": 0, "percent": 0.0})
            values += [entry["count"], entry["percent"]]
        return values

    for index, line in enumerate(_numbered(report, body)):
        sheet.add(line, bold=index == len(report["rows"]))
    sheet.notes(["说明：1. 占比 = 该管理方式小区数 ÷ 小区总数 × 100%，四舍五入保留两位小数，各项占比之和可能不等于 100%。",
                 "2. 管理方式按小区登记的物业管理方式统计，为制表时的现状。"])
    return sheet.save()


def credit_xlsx(report, made_on=None):
    made_on = made_on or date.today()
    groups = [("序号", None, [None]), (_area_title(report), None, [None]),
              ("参评企业数", None, ["0"])]
    groups += [(CREDIT_GRADE_NAMES[g], ["数量", "占比（%）"], ["0", PERCENT_FORMAT]) for g in CREDIT_GRADES]
    sheet = _Sheet(f"{_scope_name(report)}物业服务企业信用评价等级统计表（{report['year']}年度）",
                   f"统计范围：{_scope_name(report)}　　单位：家、%", made_on, groups)

    def body(row):
        from workflows.reports import percent
        values = [row["total"]]
        for grade in CREDIT_GRADES:
            values += [row["by_grade"][grade], percent(row["by_grade"][grade], row["total"])]
        return values

    for index, line in enumerate(_numbered(report, body)):
        sheet.add(line, bold=index == len(report["rows"]))
    sheet.notes(["说明：1. 等级为该年度信用评价结果：A级在招投标时可予加分，B级正常监管，C级强化监督检查，D级通报并提示信用风险。",
                 "2. 企业按其服务小区所在地区计数，在多个地区服务的企业在各地区分别计数，合计中只计一次。",
                 "3. 占比四舍五入保留两位小数。"])
    return sheet.save()


CASE_COLUMNS = [("rectifications", "opened", "新发起"), ("rectifications", "closed", "办结"),
                ("rectifications", "closed_on_time", "按期整改到位"),
                ("rectifications", "overdue", "逾期未整改"), ("rectifications", "escalated", "上报街道"),
                ("joint_meetings", "held", "召开次数")]


def cases_xlsx(report, made_on=None):
    made_on = made_on or date.today()
    rectification = [label for group, _key, label in CASE_COLUMNS if group == "rectifications"]
    groups = [("序号", None, [None]), (_area_title(report), None, [None]),
              ("整改", rectification, ["0"] * len(rectification)),
              ("联席会议", ["召开次数"], ["0"])]
    start, end = report["period_start"], report["period_end"]
    sheet = _Sheet(f"{_scope_name(report)}三方联动整改和联席会议情况统计表",
                   f"统计范围：{_scope_name(report)}　　统计期间：{start} 至 {end}　　单位：件、次",
                   made_on, groups)

    def body(row):
        return [row[group][key] for group, key, _label in CASE_COLUMNS]

    for index, line in enumerate(_numbered(report, body)):
        sheet.add(line, bold=index == len(report["rows"]))
    sheet.notes(["说明：1. 新发起、办结按案件发起、办结日期统计；按期整改到位指整改验收通过且不晚于整改期限；",
                 "2. 逾期未整改指整改期限届满未提交整改报告；上报街道含逾期、拒不整改和监管人员上报；",
                 "3. 联席会议按会议纪要记载的召开日期统计。"])
    return sheet.save()


XLSX_BUILDERS = {"coverage": coverage_xlsx, "credit": credit_xlsx, "cases": cases_xlsx}
