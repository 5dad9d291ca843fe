"""Documents of a case: meeting minutes, photos and papers uploaded with a task form.

Files are checked before anything is written: at most MAX_FILES per form, each at most the
configured size (`UPLOAD_MAX_BYTES`, 10 MB by default), and only kinds whose first bytes match
their extension (PDF, JPEG, PNG, Word and Excel files), so a renamed program or page is refused.
They are stored under the instance folder (`UPLOAD_FOLDER`, default `instance/uploads`) by a
random name; the name the user gave is kept, cleaned, only in the database and as the download
name. A file is served only through its case (`/cases/<id>/documents/<file id>`), to those who
can see the case.
"""
import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, UTCDateTime
from web.pages.i18n import _

MAX_FILES = 10
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
FIELD = "documents"  # the file input of the task form

# extension -> (content type, the bytes such a file starts with)
KINDS = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    "doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    "xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
}
ACCEPT = ",".join("." + ext for ext in KINDS)
INLINE_TYPES = {"image/jpeg", "image/png"}  # shown in the page; everything else downloads


class CaseDocument(Base):
    __tablename__ = "case_documents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    element: Mapped[str | None] = mapped_column(String(128), nullable=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_as: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[object] = mapped_column(UTCDateTime)


@dataclass
class Upload:
    """A checked file, held in memory until the task it came with is done."""
    file_name: str
    content_type: str
    content: bytes


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def clean_name(raw):
    """The user's file name without folders, control or reserved characters, at most 100 chars."""
    name = unicodedata.normalize("NFC", str(raw or ""))
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = ext.lower()[:10]
    stem = stem[:90] or _("附件")
    return f"{stem}.{ext}" if ext else stem


def max_bytes():
    return int(current_app.config.get("UPLOAD_MAX_BYTES") or DEFAULT_MAX_BYTES)


def upload_folder():
    folder = current_app.config.get("UPLOAD_FOLDER") or str(Path(current_app.instance_path) / "uploads")
    return Path(folder)


def check(files):
    """The submitted files as `Upload`s, and the messages of those refused (nothing stored)."""
    chosen = [f for f in files if f is not None and f.filename]
    uploads, errors = [], []
    if len(chosen) > MAX_FILES:
        return [], [_("一次最多上传 %(n)s 个附件", n=MAX_FILES)]
    limit = max_bytes()
    for item in chosen:
        name = clean_name(item.filename)
        ext = name.rpartition(".")[2].lower() if "." in name else ""
        content = item.stream.read(limit + 1)
        if ext not in KINDS:
            errors.append(_("%(name)s：不支持的文件类型，只能上传 PDF、JPG、PNG、Word 或 Excel 文件",
                            name=name))
        elif len(content) > limit:
            errors.append(_("%(name)s：文件超过 %(mb)s MB", name=name, mb=limit // (1024 * 1024) or 1))
        elif not content:
            errors.append(_("%(name)s：文件是空的", name=name))
        elif not content.startswith(KINDS[ext][1]):
            errors.append(_("%(name)s：文件内容与扩展名不符", name=name))
        else:
            uploads.append(Upload(name, KINDS[ext][0], content))
    return uploads, errors


def store(db, uploads, case_id, task, actor, now):
    """Write checked uploads to disk and record them; returns the new rows."""
    rows = []
    folder = upload_folder() / case_id[:2]
    folder.mkdir(parents=True, exist_ok=True)
    for upload in uploads:
        doc_id = str(uuid.uuid4())
        stored_as = f"{case_id[:2]}/{doc_id}"
        (folder / doc_id).write_bytes(upload.content)
        row = CaseDocument(id=doc_id, case_id=case_id, task_id=task.id if task else None,
                           element=task.name if task else None, file_name=upload.file_name,
                           content_type=upload.content_type, size=len(upload.content),
                           sha256=hashlib.sha256(upload.content).hexdigest(), stored_as=stored_as,
                           uploaded_by=actor.username, uploaded_at=now)
        db.add(row)
        rows.append(row)
    db.flush()
    return rows


def of_case(db, case_id):
    return db.scalars(select(CaseDocument).where(CaseDocument.case_id == case_id)
                      .order_by(CaseDocument.uploaded_at, CaseDocument.id)).all()


def get(db, case_id, doc_id):
    row = db.get(CaseDocument, str(doc_id))
    return row if row is not None and row.case_id == case_id else None


def path_of(row):
    path = (upload_folder() / row.stored_as).resolve()
    if upload_folder().resolve() not in path.parents:  # stored names are ours; still, never escape
        return None
    return path


def human_size(size):
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"
