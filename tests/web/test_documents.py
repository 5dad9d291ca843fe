"""Attachments on a task form: checked before anything is written, stored under the upload
folder by a random name, listed on the case page and served only to those who see the case."""
import io
from pathlib import Path

from sqlalchemy import inspect

from engine import schema
from engine.db import Database
from web.pages.documents import CaseDocument, clean_name
from tests.web.test_pages import add_other_clerk, task_row, text

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%%EOF\n"
FORM = {"opinion": "材料齐全", "score": "4", "passed": "true"}


def post_with_files(client, url, data, files):
    payload = dict(data)
    payload["documents"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(url, payload, content_type="multipart/form-data")


def stored(engine):
    with engine.db.unit_of_work(write=False) as db:
        return db.query(CaseDocument).order_by(CaseDocument.file_name).all()


def test_documents_are_stored_listed_and_served(app, client, engine, review_case, tmp_path):
    case, task = review_case
    client.login("clerk")
    response = post_with_files(client, f"/tasks/{task.id}", FORM,
                               [("../../现场照片 1.png", PNG), ("会议纪要.pdf", PDF)])
    assert response.status_code == 302
    rows = stored(engine)
    assert sorted(r.file_name for r in rows) == ["会议纪要.pdf", "现场照片 1.png"]  # no folders
    for row in rows:
        path = Path(app.config["UPLOAD_FOLDER"]) / row.stored_as
        assert path.is_file() and row.case_id == case.id and row.element == "review"
        assert path.name == row.id  # stored by a random name, never the user's
    page = text(client.get(f"/cases/{case.id}"))
    assert "已上传 2 个附件" in page and "会议纪要.pdf" in page and "社区审核材料" in page
    photo = next(r for r in rows if r.content_type == "image/png")
    served = client.http.get(f"/cases/{case.id}/documents/{photo.id}")
    assert served.status_code == 200 and served.data == PNG and served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    minutes = next(r for r in rows if r.content_type == "application/pdf")
    download = client.http.get(f"/cases/{case.id}/documents/{minutes.id}")
    assert download.headers["Content-Disposition"].startswith("attachment")
    # Another community's clerk, a wrong case or an unknown id: not found.
    add_other_clerk(engine)
    other = type(client)(app)
    other.login("clerk2", "secret2")
    assert other.get(f"/cases/{case.id}/documents/{photo.id}").status_code == 404
    assert client.get(f"/cases/{case.id}/documents/nope").status_code == 404


def test_refused_files_change_nothing(app, client, engine, review_case):
    app.config["UPLOAD_MAX_BYTES"] = 1024
    _, task = review_case
    client.login("clerk")
    cases = [("脚本.html", b"<script>alert(1)</script>", "不支持的文件类型"),
             ("伪装.png", b"MZ\x90\x00 not an image", "文件内容与扩展名不符"),
             ("很大.pdf", b"%PDF-" + b"x" * 2000, "文件超过 1 MB"),
             ("空.pdf", b"", "文件是空的")]
    for name, content, message in cases:
        response = post_with_files(client, f"/tasks/{task.id}", FORM, [(name, content)])
        body = text(response)
        assert response.status_code == 422 and message in body, name
        assert "表单未提交，请重新选择附件" in body and "材料齐全</textarea>" in body
    assert task_row(engine, task.id).state == "ready" and stored(engine) == []
    uploads = Path(app.config["UPLOAD_FOLDER"])
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))
    too_many = post_with_files(client, f"/tasks/{task.id}", FORM, [(f"{n}.png", PNG) for n in range(11)])
    assert too_many.status_code == 422 and "一次最多上传 10 个附件" in text(too_many)


def test_files_are_not_kept_when_the_form_is_refused(client, engine, review_case):
    _, task = review_case
    client.login("clerk")
    response = post_with_files(client, f"/tasks/{task.id}", {"opinion": "", "score": "9"},
                               [("照片.png", PNG)])
    assert response.status_code == 422 and "表单未提交，请重新选择附件" in text(response)
    assert stored(engine) == []


def test_clean_name():
    assert clean_name("C:\\Users\\张\\现场 照片.JPG") == "现场 照片.jpg"
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name('a<b>:"|?*.pdf') == "a_b_.pdf"
    assert clean_name("...") == "附件"
    assert clean_name("\x00\x1f.png").endswith(".png")
    assert len(clean_name("长" * 300 + ".pdf")) <= 100


def test_init_creates_the_documents_table(tmp_path):
    from workflows import upgrade_schema
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade_schema(database)
    upgrade_schema(database)  # idempotent
    assert "case_documents" in inspect(database.engine).get_table_names()
    database.dispose()
    engine_only = Database(f"sqlite:///{tmp_path / 'engine.db'}")
    schema.upgrade(engine_only)
    assert "case_documents" in inspect(engine_only.engine).get_table_names()
    engine_only.dispose()


def test_the_upload_folder_is_set_by_the_environment(monkeypatch, tmp_path):
    """Several web machines share one folder for attachments (docs/deploy.md)."""
    from web.app import create_app
    monkeypatch.setenv("LINKAGE_UPLOAD_FOLDER", str(tmp_path / "shared"))
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    try:
        assert app.config["UPLOAD_FOLDER"] == str(tmp_path / "shared")
    finally:
        app.extensions["linkage"].db.dispose()
