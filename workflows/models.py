"""The domain's own tables: service contracts and the enterprises' credit files.

Compounds, enterprises and the administrative tree are engine `Organisation` rows (a compound's
`attributes` hold its `management_type` and managing `enterprise_code`); what only the linkage
mechanism needs lives here. Their migrations are in `workflows/migrations/versions`.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (Date, ForeignKey, Index, Integer, LargeBinary, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, BigId, UTCDateTime

CREDIT_GRADES = ("A", "B", "C", "D")
CREDIT_KINDS = {"rating": "信用评级", "evaluation": "评议考评", "dismissal": "被依法解聘",
                "refused_handover": "拒不退出移交", "handover_completed": "退出移交完成"}


class ServiceContract(Base):
    """A property service contract: the compound, the enterprise, its term and standards.

    `ends_on` None is a contract without a fixed term (Civil Code Art. 948); `notice_days` is
    the contract's own notice period where it departs from the statutory default.
    """

    __tablename__ = "service_contracts"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    compound_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), index=True)
    enterprise_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    service_grade: Mapped[str | None] = mapped_column(String(16), nullable=True)
    fee_standard: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), nullable=True)
    notice_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")


class CreditRecord(Base):
    """One entry of an enterprise's credit file: a yearly grade or an event such as dismissal."""

    __tablename__ = "credit_records"
    __table_args__ = (Index("ix_credit_records_enterprise_year", "enterprise_code", "year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    enterprise_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"))
    year: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str | None] = mapped_column(String(1), nullable=True)
    kind: Mapped[str] = mapped_column(String(32), default="rating")
    note: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GeneratedDocument(Base):
    """A printable PDF made from a case's data (notice, publicity, minutes), kept with the case.

    `case_revision` is the case's version when it was made: a document is made again only when
    the case has changed since, so what was printed can be shown again as it was.
    """

    __tablename__ = "generated_documents"
    __table_args__ = (UniqueConstraint("case_id", "kind", name="uq_generated_documents_case_kind"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    case_revision: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    generated_by: Mapped[str] = mapped_column(String(80))
