"""`linkage import orgs` and the seed's tables: Jincheng's counts in, the published figures out.

Acceptance: importing Jincheng's 202 enterprises and 1,563 compounds and running
`linkage report coverage --format json` gives 48.75 / 21.43 / 16.38 / 13.44, `credit` gives
A 32, B 77, C 92, D 1, and the XLSX forms open and say the same. A file with one bad row is
refused whole, naming the row, and nothing changes.
"""
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from engine.access import Principal
from engine.models import Case, Organisation, TaskRow
from tests.reports.conftest import (COMPOUND_HEADER, ENTERPRISE_HEADER, bundled_bpmn,
                                    jincheng_compound_rows, write_csv)
from workflows.models import CreditRecord

SEED_PERCENT = {"enterprise": 48.75, "community_trust": 21.43, "work_unit": 16.38, "owner_self": 13.44}
SEED_COUNTS = {"enterprise": 762, "community_trust": 335, "work_unit": 256, "owner_self": 210}


def snapshot(eng):
    """Everything an import may touch, to show that a refused file changed nothing."""
    with eng.db.unit_of_work(write=False) as s:
        orgs = sorted((o.code, o.name, o.kind, o.parent_code, o.path, sorted((o.attributes or {}).items()))
                      for o in s.scalars(select(Organisation)))
        ratings = sorted((r.enterprise_code, r.year, r.grade) for r in s.scalars(select(CreditRecord)))
    return orgs, ratings


def import_jincheng(run, jincheng_files):
    enterprises, compounds = jincheng_files
    code, out, err = run("import", "orgs", str(enterprises))
    assert code == 0, err
    assert "新增 202" in out
    code, out, err = run("import", "orgs", str(compounds))
    assert code == 0, err
    assert "新增 1563" in out


def test_jincheng_counts_reproduce_the_published_tables(run, run_json, jincheng_files, tmp_path):
    import_jincheng(run, jincheng_files)

    coverage = run_json("report", "coverage", "--format", "json")
    assert set(coverage) == {"total", "by_management_type"}  # the contract's shape, exactly
    assert coverage["total"] == 1563
    for kind, percent in SEED_PERCENT.items():
        assert coverage["by_management_type"][kind] == {"count": SEED_COUNTS[kind], "percent": percent}
    assert coverage["by_management_type"]["none"] == {"count": 0, "percent": 0.0}

    credit = run_json("report", "credit", "--format", "json")
    assert credit == {"year": 2024, "total": 202, "by_grade": {"A": 32, "B": 77, "C": 92, "D": 1}}
    # The same figures for the city as a scope: every enterprise manages a compound there.
    assert run_json("report", "credit", "--org", "1405")["by_grade"] == {"A": 32, "B": 77, "C": 92, "D": 1}
    assert run_json("report", "coverage", "--org", "1405")["total"] == 1563

    code, out, err = run("report", "coverage", "--format", "xlsx", "--out", str(tmp_path / "c.xlsx"),
                         "--org", "1405")
    assert code == 0, err
    sheet = load_workbook(tmp_path / "c.xlsx").active
    assert sheet["A1"].value == "晋城市住宅小区物业管理方式统计表"
    assert sheet["C3"].value == "小区总数" and sheet["D3"].value == "物业服务企业管理"
    assert sheet["D4"].value == "数量" and sheet["E4"].value == "占比（%）"
    rows = {row[1]: row for row in sheet.iter_rows(min_row=5, values_only=True) if row[1]}
    assert set(rows) >= {"城区", "泽州县", "高平市", "阳城县", "沁水县", "陵川县", "合计"}
    total = rows["合计"]
    assert total[2:11] == (1563, 762, 48.75, 335, 21.43, 256, 16.38, 210, 13.44)
    assert sum(rows[c][2] for c in ("城区", "泽州县", "高平市", "阳城县", "沁水县", "陵川县")) == 1563

    code, out, err = run("report", "credit", "--format", "xlsx", "--out", str(tmp_path / "k.xlsx"))
    assert code == 0, err
    sheet = load_workbook(tmp_path / "k.xlsx").active
    assert sheet["A1"].value == "全部物业服务企业信用评价等级统计表（2024年度）"
    total = [row for row in sheet.iter_rows(min_row=5, values_only=True) if row[1] == "合计"][0]
    assert total[2:11] == (202, 32, 15.84, 77, 38.12, 92, 45.54, 1, 0.5)


def test_the_divisions_get_their_official_codes(run, jincheng_files, eng):
    import_jincheng(run, jincheng_files)
    with eng.db.unit_of_work(write=False) as s:
        names = dict(s.execute(select(Organisation.code, Organisation.name).where(
            Organisation.kind.in_(("province", "city", "district")))).all())
        compound = s.get(Organisation, "JC00000")
    assert names["14"] == "山西省" and names["1405"] == "晋城市"
    assert names["140502"] == "城区" and names["140581"] == "高平市" and names["140525"] == "泽州县"
    assert compound.path.startswith("14/1405/140502/140502")
    assert compound.attributes == {"management_type": "enterprise", "enterprise_code": "JE001"}


def test_one_bad_row_refuses_the_whole_file_and_changes_nothing(run, jincheng_files, eng, tmp_path):
    import_jincheng(run, jincheng_files)
    before = snapshot(eng)
    rows = jincheng_compound_rows()[:20]
    rows[0][1] = "改过名字的小区"  # a good change that must not be applied either
    rows[6][6] = "物业公司代管"  # row 8 of the file: no such way of management
    code, out, err = run("import", "orgs", str(write_csv(tmp_path / "bad.csv", COMPOUND_HEADER, rows)))
    assert code == 1
    assert "文件未导入：1 行有误" in err
    assert "第 8 行：管理方式“物业公司代管”无效" in err
    assert snapshot(eng) == before


def test_every_bad_row_is_named_with_its_reason(run, eng, tmp_path):
    write_csv(tmp_path / "e.csv", ENTERPRISE_HEADER, [["E1", "甲物业", "A", "2024"]])
    assert run("import", "orgs", str(tmp_path / "e.csv"))[0] == 0
    before = snapshot(eng)
    rows = [
        ["C1", "甲小区", "晋城市", "城区", "西街街道", "凤台社区", "enterprise", "E1"],  # good
        ["C2", "乙小区", "晋城市", "城区", "西街街道", "凤台社区", "enterprise", ""],
        ["C3", "丙小区", "晋城市", "城区", "西街街道", "凤台社区", "enterprise", "E404"],
        ["C1", "丁小区", "晋城市", "城区", "西街街道", "凤台社区", "none", ""],
        ["C5", "", "晋城市", "城区", "", "凤台社区", "none", ""],
        ["E1", "戊小区", "晋城市", "城区", "西街街道", "凤台社区", "none", ""],
        ["C/7", "己小区", "晋城市", "城区", "西街街道", "凤台社区", "owner_self", "C1"],
    ]
    code, out, err = run("import", "orgs", str(write_csv(tmp_path / "c.csv", COMPOUND_HEADER, rows)))
    assert code == 1
    lines = err.splitlines()
    assert "错误: 文件未导入：6 行有误，请改正后重新导入整个文件" in lines
    assert any(line.strip().startswith("第 3 行：") and "必须填写 enterprise_code" in line for line in lines)
    assert any("第 4 行：" in line and "物业服务企业 E404 不存在，请先导入企业" in line for line in lines)
    assert any("第 5 行：代码 C1 与第 2 行重复" in line for line in lines)
    assert any("第 6 行：" in line and "name 不能为空" in line and "street 不能为空" in line for line in lines)
    assert any("第 7 行：代码 E1 已被物业服务企业“甲物业”使用" in line for line in lines)
    assert any("第 8 行：" in line and "不允许的字符" in line and "物业服务企业 C1 不存在" in line
               for line in lines)
    assert not any("第 2 行：" in line for line in lines)
    assert snapshot(eng) == before


def test_reimporting_updates_and_moves_the_cases_of_a_moved_compound(run, run_json, eng, tmp_path):
    eng.deploy(bundled_bpmn(), Principal("root", "admin"))
    write_csv(tmp_path / "e.csv", ENTERPRISE_HEADER, [["E1", "甲物业", "B", "2024"], ["E2", "乙物业", "", ""]])
    assert run("import", "orgs", str(tmp_path / "e.csv"))[0] == 0
    first = [["C1", "甲小区", "晋城市", "城区", "西街街道", "凤台社区", "enterprise", "E1"],
             ["C2", "乙小区", "晋城市", "城区", "西街街道", "凤台社区", "work_unit", ""]]
    assert run("import", "orgs", str(write_csv(tmp_path / "c.csv", COMPOUND_HEADER, first)))[0] == 0
    with eng.db.unit_of_work(write=False) as s:
        community = s.scalar(select(Organisation).where(Organisation.name == "凤台社区"))
    clerk = Principal("c", "clerk", community.code, community.path)
    case = eng.start_case(clerk, "rectification",
                          {"problem_description": "电梯故障", "source": "complaint"}, "C1")

    # C1 moves to another community and changes hands; C2 is renamed; E1's grade changes.
    second = [["C1", "甲小区", "晋城市", "城区", "东街街道", "东街社区", "enterprise", "E2"],
              ["C2", "乙小区（西区）", "晋城市", "城区", "西街街道", "凤台社区", "work_unit", ""]]
    code, out, err = run("import", "orgs", str(write_csv(tmp_path / "c2.csv", COMPOUND_HEADER, second)))
    assert code == 0, err
    assert "新增 0，更新 2，未变 0" in out
    write_csv(tmp_path / "e2.csv", ENTERPRISE_HEADER,
              [["E1", "甲物业", "C", "2024"], ["E2", "乙物业", "A", "2024"]])
    code, out, err = run("import", "orgs", str(tmp_path / "e2.csv"))
    assert code == 0 and "新增 0，更新 2，未变 0" in out, (out, err)
    with eng.db.unit_of_work(write=False) as s:
        moved = s.get(Organisation, "C1")
        street = s.scalar(select(Organisation).where(Organisation.name == "东街街道"))
        assert moved.parent_code != community.code and moved.path.startswith(street.path)
        assert moved.attributes["enterprise_code"] == "E2"
        assert s.get(Organisation, "C2").name == "乙小区（西区）"
        assert s.get(Case, case.id).org_path == moved.path
        tasks = s.scalars(select(TaskRow).where(TaskRow.case_id == case.id))
        assert {t.org_path for t in tasks} == {moved.path}
        ratings = s.execute(select(CreditRecord.enterprise_code, CreditRecord.grade)
                            .where(CreditRecord.year == 2024).order_by(CreditRecord.enterprise_code)).all()
    assert [tuple(r) for r in ratings] == [("E1", "C"), ("E2", "A")]  # one rating a year, updated
    assert run_json("report", "credit") == {"year": 2024, "total": 2,
                                            "by_grade": {"A": 1, "B": 0, "C": 1, "D": 0}}
    # Importing the same file again changes nothing.
    code, out, _ = run("import", "orgs", str(tmp_path / "c2.csv"))
    assert "新增 0，更新 0，未变 2" in out


def test_xlsx_with_a_title_row_and_chinese_headers(run, run_json, eng, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["晋城市物业服务企业名录（2024年）"])
    sheet.append(["企业代码", "企业名称", "信用等级", "评级年度"])
    sheet.append(["E1", "甲物业", "a", 2024])
    sheet.append([])
    sheet.append(["E2", "乙物业", "D级", 2024.0])
    book.save(tmp_path / "e.xlsx")
    code, out, err = run("import", "orgs", str(tmp_path / "e.xlsx"))
    assert code == 0, err
    assert run_json("report", "credit") == {"year": 2024, "total": 2,
                                            "by_grade": {"A": 1, "B": 0, "C": 0, "D": 1}}

    book = Workbook()
    sheet = book.active
    sheet.append(["小区代码", "小区名称", "市", "县（市、区）", "街道（乡镇）", "社区（村）", "管理方式", "物业服务企业代码"])
    sheet.append(["C1", "甲小区", "晋城市", "城区", "西街街道", "凤台社区", "物业服务企业管理", "E1"])
    sheet.append(["C2", "乙小区", "晋城市", "城区", "西街街道", "凤台社区", "业主自管", None])
    sheet.append([140502001, "丙小区", "晋城市", "城区", "西街街道", "凤台社区", "none", None])
    book.save(tmp_path / "c.xlsx")
    code, out, err = run("import", "orgs", str(tmp_path / "c.xlsx"))
    assert code == 0, err
    by_type = run_json("report", "coverage")["by_management_type"]
    assert {k: v["count"] for k, v in by_type.items()} == {
        "enterprise": 1, "community_trust": 0, "work_unit": 0, "owner_self": 1, "none": 1}
    with eng.db.unit_of_work(write=False) as s:
        assert s.get(Organisation, "140502001").kind == "compound"  # a number cell is its text
        assert s.scalar(select(func.count()).select_from(Organisation).where(
            Organisation.name == "西街街道")) == 1


def test_files_that_cannot_be_read_are_refused_clearly(run, eng, tmp_path):
    (tmp_path / "x.csv").write_text("编号,名字\n1,2\n", encoding="utf-8")
    code, _, err = run("import", "orgs", str(tmp_path / "x.csv"))
    assert code == 1 and "第 1 行：表头应为小区列" in err and "无法识别的列：编号, 名字" in err
    (tmp_path / "x.xlsx").write_bytes(b"not a zip file")
    code, _, err = run("import", "orgs", str(tmp_path / "x.xlsx"))
    assert code == 1 and "不是有效的 XLSX 文件" in err
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    code, _, err = run("import", "orgs", str(tmp_path / "x.json"))
    assert code == 1 and "只能导入 CSV 或 XLSX 文件" in err
    write_csv(tmp_path / "h.csv", ENTERPRISE_HEADER, [])
    code, _, err = run("import", "orgs", str(tmp_path / "h.csv"))
    assert code == 1 and "表头之后没有数据行" in err
    write_csv(tmp_path / "y.csv", ENTERPRISE_HEADER, [["E1", "甲物业", "E", "2024"], ["E2", "乙物业", "B", "1880"],
                                                     ["E3", "丙物业", "B", ""]])
    code, _, err = run("import", "orgs", str(tmp_path / "y.csv"))
    assert code == 1
    assert "第 2 行：信用等级“E”无效" in err and "第 3 行：评级年度“1880”无效" in err
    assert "第 4 行：填写信用等级时必须填写评级年度" in err
    assert snapshot(eng) == ([], [])


def test_gbk_csv_as_excel_saves_it(run, run_json, tmp_path):
    write_csv(tmp_path / "e.csv", ENTERPRISE_HEADER, [["E1", "晋城市甲物业服务有限公司", "B", "2024"]],
              encoding="gb18030")
    code, out, err = run("import", "orgs", str(tmp_path / "e.csv"))
    assert code == 0, err
    assert run_json("report", "credit")["by_grade"]["B"] == 1
