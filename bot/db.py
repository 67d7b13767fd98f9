"""SQLAlchemy models and sessions for the measures database.

SQLite file by default (``var/measures.db``); any SQLAlchemy URL through
``DATABASE_URL``. Written in SQLAlchemy 2.0 style on 1.4 (``future=True``).
The contacts table is the one part a person maintains (CSV import); a rebuild
of everything else carries it over unchanged.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from sqlalchemy import (Boolean, Column, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
                        create_engine, event)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import QueuePool
from sqlalchemy.orm import Session, declarative_base, relationship, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = ROOT / "var" / "measures.db"

Base = declarative_base()


class Region(Base):
    __tablename__ = "regions"
    name = Column(String(64), primary_key=True)
    level = Column(String(16), nullable=False)
    parent = Column(String(64), ForeignKey("regions.name"))
    hotline_number = Column(String(32))
    hotline_name = Column(String(64))


class Document(Base):
    __tablename__ = "documents"
    id = Column(Integer, primary_key=True)
    key = Column(String(16), unique=True, nullable=False)
    file = Column(String(255), nullable=False)
    sha256 = Column(String(64), nullable=False)
    title = Column(Text, nullable=False)
    title_note = Column(Text)
    issuer = Column(Text)
    region = Column(String(64), ForeignKey("regions.name"), nullable=False)
    doc_number = Column(String(64))
    published = Column(Date)
    valid_until = Column(Date)
    validity_text = Column(Text)
    source_url = Column(Text)
    contact_unit_id = Column(Integer, ForeignKey("units.id"))
    contact_text = Column(Text)
    header_sizes = Column(Text)  # comma-separated, from the header table
    header_regions = Column(Text)  # as printed

    measures = relationship("Measure", back_populates="document", order_by="Measure.ordinal")
    contact_unit = relationship("Unit", foreign_keys=[contact_unit_id])


class Unit(Base):
    """One office in one region, under its canonical name."""
    __tablename__ = "units"
    id = Column(Integer, primary_key=True)
    region = Column(String(64), ForeignKey("regions.name"), nullable=False)
    name = Column(String(128), nullable=False)
    full_name = Column(String(255))
    generic = Column(Boolean, nullable=False, default=False)
    __table_args__ = (UniqueConstraint("region", "name"),)

    aliases = relationship("UnitAlias", back_populates="unit", cascade="all, delete-orphan")


class UnitAlias(Base):
    __tablename__ = "unit_aliases"
    id = Column(Integer, primary_key=True)
    unit_id = Column(Integer, ForeignKey("units.id"), nullable=False, index=True)
    alias = Column(String(128), nullable=False)
    unit = relationship("Unit", back_populates="aliases")


class Measure(Base):
    __tablename__ = "measures"
    id = Column(Integer, primary_key=True)
    document_id = Column(Integer, ForeignKey("documents.id"), nullable=False, index=True)
    ordinal = Column(Integer, nullable=False)  # order within the document
    section_number = Column(String(16))
    section_heading = Column(Text)
    item_number = Column(String(32), nullable=False)
    item_heading = Column(Text)
    clause_no = Column(Integer, nullable=False, default=1)
    text = Column(Text, nullable=False)
    source_line = Column(Integer)
    deadline_text = Column(String(64))
    deadline = Column(Date)
    valid_until = Column(Date)
    validity_source = Column(String(16), nullable=False)  # measure / document / none
    # "enterprise": something an enterprise can use or apply for; "government": the text only
    # describes what the government did (成立指挥部, 领导带队挂点) — bot/ingest.py classify_measure
    kind = Column(String(16), nullable=False, default="enterprise")

    document = relationship("Document", back_populates="measures")
    units = relationship("MeasureUnit", back_populates="measure", order_by="MeasureUnit.id")
    amounts = relationship("AmountRow", order_by="AmountRow.id")
    tags = relationship("Tag", order_by="Tag.id")


class MeasureUnit(Base):
    __tablename__ = "measure_units"
    id = Column(Integer, primary_key=True)
    measure_id = Column(Integer, ForeignKey("measures.id"), nullable=False, index=True)
    unit_id = Column(Integer, ForeignKey("units.id"), nullable=False, index=True)
    role = Column(String(16), nullable=False)  # lead / responsible
    name_as_written = Column(String(128), nullable=False)
    measure = relationship("Measure", back_populates="units")
    unit = relationship("Unit")


class AmountRow(Base):
    __tablename__ = "amounts"
    id = Column(Integer, primary_key=True)
    measure_id = Column(Integer, ForeignKey("measures.id"), nullable=False, index=True)
    raw = Column(String(64), nullable=False)
    value = Column(Float, nullable=False)
    unit = Column(String(8), nullable=False)
    qualifier = Column(String(16))
    sentence = Column(Text, nullable=False)
    # benefit (what the enterprise can get) / fund (a budget the government sets aside) /
    # fee (what the enterprise pays) / threshold (a condition) — bot/ingest.py amount_kind
    kind = Column(String(16), nullable=False, default="benefit")


class Tag(Base):
    """district / size / industry / topic / qualification of a measure; `stated` by the text or inferred."""
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    measure_id = Column(Integer, ForeignKey("measures.id"), nullable=False)
    kind = Column(String(16), nullable=False)
    value = Column(String(64), nullable=False)
    stated = Column(Boolean, nullable=False, default=True)
    __table_args__ = (Index("ix_tags_kind_value", "kind", "value", "measure_id"), Index("ix_tags_measure", "measure_id", "kind"))


class Sentence(Base):
    """A clause's sentences with their jieba tokens (space-joined): the unit of ranking and
    the snippet shown (bot/retrieve.py). Tokens are stored so that loading the index is a
    read, not a re-segmentation of every text (jieba: ~1 MB/s)."""
    __tablename__ = "sentences"
    id = Column(Integer, primary_key=True)
    measure_id = Column(Integer, ForeignKey("measures.id"), nullable=False, index=True)
    ordinal = Column(Integer, nullable=False)
    text = Column(Text, nullable=False)
    tokens = Column(Text, nullable=False)


class Term(Base):
    """jieba tokens of each measure: a small inverted index for text relevance."""
    __tablename__ = "terms"
    id = Column(Integer, primary_key=True)
    measure_id = Column(Integer, ForeignKey("measures.id"), nullable=False)
    term = Column(String(32), nullable=False)
    __table_args__ = (Index("ix_terms_term", "term", "measure_id"),)


class Contact(Base):
    """A unit's contact, from a directory a person maintains. Keyed by (region, unit name)
    rather than unit id so that a rebuild of the measures keeps it."""
    __tablename__ = "contacts"
    id = Column(Integer, primary_key=True)
    region = Column(String(64), nullable=False)
    unit_name = Column(String(128), nullable=False)
    full_name = Column(String(255))
    phone = Column(String(64))
    address = Column(Text)
    website = Column(Text)
    source = Column(Text, nullable=False)
    updated = Column(Date)
    __table_args__ = (UniqueConstraint("region", "unit_name"),)


class BuildInfo(Base):
    __tablename__ = "build_info"
    key = Column(String(32), primary_key=True)
    value = Column(Text)


def database_url(url: Optional[str] = None) -> str:
    url = url or os.environ.get("DATABASE_URL")
    if url:
        return url
    DEFAULT_DB_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_DB_PATH}"


def sqlite_path(url: str) -> Optional[Path]:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url[len("sqlite:///"):])
    return None


_ENGINES: dict = {}


def _file_identity(path: Path) -> Optional[tuple]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _reconnect_after_rebuild(engine: Engine, path: Path) -> None:
    """Pooled SQLite connections stay open between answers (opening one and reading the
    schema again was ~1 ms of every action). A rebuild swaps in a new file with one
    rename (bot/build.py), and an open connection would go on reading the old one, so a
    connection whose file is no longer the one at ``path`` is dropped at checkout and the
    pool opens a fresh one (SQLAlchemy's disconnect-handling pattern)."""
    @event.listens_for(engine, "connect")
    def remember_file(dbapi_connection, record):
        record.info["file"] = _file_identity(path)

    @event.listens_for(engine, "checkout")
    def check_file(dbapi_connection, record, proxy):
        if record.info.get("file") != _file_identity(path):
            raise DisconnectionError("the database file was replaced (rebuilt) or removed")


def get_engine(url: Optional[str] = None) -> Engine:
    url = database_url(url)
    if url not in _ENGINES:
        kwargs = {"future": True}
        path = sqlite_path(url)
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False}
            if path is not None:
                kwargs.update(poolclass=QueuePool, pool_size=5, max_overflow=10)
        else:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        engine = create_engine(url, **kwargs)
        if path is not None:
            _reconnect_after_rebuild(engine, path)
        _ENGINES[url] = engine
    return _ENGINES[url]


def dispose_engine(url: Optional[str] = None) -> None:
    eng = _ENGINES.pop(database_url(url), None)
    if eng is not None:
        eng.dispose()


def session_factory(url: Optional[str] = None) -> sessionmaker:
    return sessionmaker(bind=get_engine(url), class_=Session, future=True, expire_on_commit=False)
