"""Fixtures for imports, statistics tables and documents.

`jincheng_files` writes the seed's Jincheng figures as import files the way a housing bureau
would keep them (1,563 compounds: 762 managed by enterprises, 335 in community trust, 256 by
their work unit, 210 by their owners; 202 enterprises rated in 2024: A 32, B 77, C 92, D 1),
spread over the city's six counties. `run` invokes the `linkage` command line on the test app.
"""
import csv
import json
from pathlib import Path

import pytest

from engine.access import SYSTEM

ROOT = Path(__file__).resolve().parents[2]
COMPOUND_HEADER = ["code", "name", "city", "district", "street", "community", "management_type",
                   "enterprise_code"]
ENTERPRISE_HEADER = ["code", "name", "credit_grade", "rating_year"]
JINCHENG_MIX = {"enterprise": 762, "community_trust": 335, "work_unit": 256, "owner_self": 210}
JINCHENG_GRADES = {"A": 32, "B": 77, "C": 92, "D": 1}
COUNTIES = ["城区", "泽州县", "高平市", "阳城县", "沁水县", "陵川县"]


def write_csv(path, header, rows, encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def jincheng_enterprise_rows():
    rows, number = [], 0
    for grade, count in JINCHENG_GRADES.items():
        for _ in range(count):
            number += 1
            rows.append([f"JE{number:03d}", f"晋城市第{number}物业服务有限公司", grade, "2024"])
    return rows


def jincheng_compound_rows():
    kinds = [kind for kind, count in JINCHENG_MIX.items() for _ in range(count)]
    rows = []
    for index, kind in enumerate(kinds):
        county = COUNTIES[index % len(COUNTIES)]
        street = f"{county[:-1]}第{index % 4 + 1}街道"
        community = f"{street[:-2]}第{index % 9 + 1}社区"
        enterprise = f"JE{index % 202 + 1:03d}" if kind == "enterprise" else ""
        rows.append([f"JC{index:05d}", f"小区{index:04d}", "晋城市", county, street, community,
                     kind, enterprise])
    return rows


@pytest.fixture
def jincheng_files(tmp_path):
    return (write_csv(tmp_path / "enterprises.csv", ENTERPRISE_HEADER, jincheng_enterprise_rows()),
            write_csv(tmp_path / "compounds.csv", COMPOUND_HEADER, jincheng_compound_rows()))


@pytest.fixture
def run(app):
    """`run("report", "coverage")` -> (exit code, stdout, stderr) of the `linkage` command."""
    runner = app.test_cli_runner()

    def invoke(*args):
        result = runner.invoke(args=list(args))
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr
    return invoke


@pytest.fixture
def run_json(run):
    def invoke(*args):
        code, out, err = run(*args)
        assert code == 0, err
        return json.loads(out)
    return invoke


@pytest.fixture
def eng(app):
    return app.extensions["linkage"]


def bundled_bpmn():
    return [(p.name, p.read_bytes()) for p in sorted((ROOT / "bpmn").glob("*.bpmn"))]


@pytest.fixture
def demo_app(app):
    """The app with the small demo's organisations and users and the bundled processes (the
    processes are deployed after the demo loads, so it starts no cases of its own)."""
    from web.demo import load_demo
    load_demo(app)
    app.extensions["linkage"].deploy(bundled_bpmn(), SYSTEM)
    return app
