"""Rebuild the measures database from seeds/ — idempotent and atomic.

Everything is parsed first (a bad document fails before the database is
touched). SQLite builds into a temporary file that replaces the old one in a
single rename; other databases rebuild inside one transaction. Contacts, which
a person maintains, are carried over.

Contacts exist nowhere else (the seeds have no phone numbers), so a SQLite
rebuild reads them from the old file *before* anything is written, read-only,
and stops with `ContactsUnreadable` (the file and SQLite's reason; the CLI
exits 2 and the file stays as it was) when that file is there but is not a
readable database or its contacts table fails SQLite's own check
(``PRAGMA quick_check(contacts)``; opening, checking and reading take ~4 ms on the
real database, measured). Earlier a
corrupt file was taken for "no contacts" and replaced: every hand-imported
contact was silently gone. A missing file (first build) or an empty one
(0 bytes: what a connection leaves after the file was deleted) holds no
contacts and builds normally.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import tempfile
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from sqlalchemy import create_engine, delete, func, insert, inspect, select, text
from sqlalchemy.orm import Session

from bot import db
from bot.ingest import SEEDS_DIR, IngestError, ParsedDocument, parse_all
from bot.lexicon import Lexicon, load_lexicon
from bot.retrieve import index_tokens, split_sentences
from bot.segment import terms

# Order matters for delete (children first).
REBUILT_TABLES = [db.Sentence, db.Term, db.Tag, db.AmountRow, db.MeasureUnit, db.Measure, db.Document, db.UnitAlias, db.Unit,
                  db.Region, db.BuildInfo]


CONTACT_FIELDS = ("region", "unit_name", "full_name", "phone", "address", "website", "source", "updated")


class ContactsUnreadable(IngestError):
    """The old database is there but its contacts cannot be read: the build stops."""

    def __init__(self, path: Path, reason: str) -> None:
        message = (f"cannot read the contacts in the existing database ({reason}), so a rebuild would drop them; "
                   "nothing was changed. Restore the file from a backup, or move it away to build without "
                   "its contacts (then 'python -m bot contacts import' the directory again)")
        Exception.__init__(self, f"{path}: {message}")
        self.file, self.line, self.message = str(path), 0, message


def build(url: Optional[str] = None, seeds_dir: Path = SEEDS_DIR, warnings: Optional[List[str]] = None) -> Dict[str, int]:
    """``warnings``, when given, receives what a person should look at ("file:line: message"),
    so that a build is never silently wrong (the CLI prints them)."""
    lex = load_lexicon()
    docs = parse_all(seeds_dir, lex)
    if warnings is not None:
        for d in docs:
            warnings.extend(f"{d.file}:{f.line}: {f.message}" for f in d.warnings())
            if lex.hotline(d.regions[0]) is None:
                warnings.append(f"{d.file}: no 12345 hotline on record for {d.regions[0]} or above it in "
                                "bot/lexicon.yml: its answers carry no hotline fallback")
    url = db.database_url(url)
    path = db.sqlite_path(url)
    if path is not None:
        return _build_sqlite_file(path, docs, lex)
    engine = db.get_engine(url)
    db.Base.metadata.create_all(engine)
    with Session(engine, future=True) as session, session.begin():
        for model in REBUILT_TABLES:
            session.execute(delete(model))
        return _write(session, docs, lex)


def _build_sqlite_file(path: Path, docs: List[ParsedDocument], lex: Lexicon) -> Dict[str, int]:
    contacts = read_contacts(path)  # before anything is written: unreadable -> stop here
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_url = f"sqlite:///{tmp}"
    try:
        engine = db.get_engine(tmp_url)
        db.Base.metadata.create_all(engine)
        with Session(engine, future=True) as session, session.begin():
            counts = _write(session, docs, lex)
            for row in contacts:
                session.add(db.Contact(**row))
        db.dispose_engine(tmp_url)
        db.dispose_engine(f"sqlite:///{path}")
        os.replace(tmp, path)
        return counts
    finally:
        db.dispose_engine(tmp_url)
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_contacts(path: Path) -> List[dict]:
    """The contacts held in the SQLite file at `path` ([] when there is none); ContactsUnreadable
    when the file is there but they cannot be read. Opened read-only: never creates or changes it."""
    try:
        if not path.exists():
            return []
        if not path.is_file():
            raise ContactsUnreadable(path, "not a regular file")
        if path.stat().st_size == 0:
            return []
    except OSError as e:
        raise ContactsUnreadable(path, str(e))
    engine = create_engine("sqlite://", future=True,
                           creator=lambda: sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10))
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("contacts"):
                return []  # a database without the table has no contacts to keep
            check = conn.execute(text("PRAGMA quick_check(contacts)")).scalars().all()
            if check != ["ok"]:
                raise ContactsUnreadable(path, "SQLite's check of the contacts table: " + "; ".join(check[:3]))
            table = db.Contact.__table__
            return [dict(r._mapping) for r in conn.execute(select(*(table.c[f] for f in CONTACT_FIELDS)))]
    except ContactsUnreadable:
        raise
    except Exception as e:  # sqlite3.DatabaseError: not a database, malformed, locked, unreadable
        reason = getattr(e, "orig", None) or e
        raise ContactsUnreadable(path, f"{type(reason).__name__}: {reason}")
    finally:
        engine.dispose()


def _write(session: Session, docs: List[ParsedDocument], lex: Lexicon) -> Dict[str, int]:
    for r in lex.regions.values():
        session.add(db.Region(name=r.name, level=r.level, parent=r.parent, hotline_number=r.hotline_number,
                              hotline_name=r.hotline_name))
    session.flush()
    units: Dict[Tuple[str, str], db.Unit] = {}

    def unit_for(region: str, written: str) -> db.Unit:
        canonical = lex.canonical_unit(region, written)
        key = (region, canonical)
        if key not in units:
            u = db.Unit(region=region, name=canonical, full_name=lex.unit_full_name(region, canonical),
                        generic=lex.is_generic_unit(canonical))
            for alias in lex.unit_alias_list(region, canonical):
                u.aliases.append(db.UnitAlias(alias=alias))
            session.add(u)
            units[key] = u
        return units[key]

    # Measures and their rows are written with one bulk insert per table, ids assigned here: with the
    # ORM's add + flush per measure a build cost 178 / 305 / 320 ms a document for 50 / 200 / 1,000
    # synthetic documents, growing with the session; now 1,000 documents (43,000 measures) take
    # 151 s, 151 ms a document against 180 at 200 (bench/ingest_bench.py). What is left is mostly
    # jieba segmenting the terms and sentences.
    next_id = session.execute(select(func.coalesce(func.max(db.Measure.id), 0))).scalar_one() + 1
    n_measures = 0
    measure_rows: List[dict] = []
    unit_rows: List[tuple] = []
    amount_rows: List[dict] = []
    term_rows: List[dict] = []
    tag_rows: List[dict] = []
    sentence_rows: List[dict] = []
    for d in docs:
        meta = d.meta
        contact = meta.get("contact") or {}
        doc_region = lex.canonical_region(meta["region"])
        document = db.Document(
            key=d.key, file=d.file, sha256=d.sha256, title=meta["title"], title_note=meta.get("title_note"),
            # what the manifest leaves out, the text itself may state (read by bot/documents/outline.py)
            issuer=meta.get("issuer") or d.facts.issuer, region=doc_region,
            doc_number=meta.get("doc_number") or d.facts.doc_number,
            published=_as_date(meta.get("published")) or d.facts.published, valid_until=d.valid_until,
            validity_text=meta.get("validity_text") or d.header.get("有效期至") or (
                d.facts.validity.sentence if d.facts.validity else None), source_url=meta.get("source_url"),
            contact_text=contact.get("text"), header_sizes=",".join(d.sizes) or None,
            header_regions=d.header.get("适用区域"),
        )
        if contact.get("unit"):
            document.contact_unit = unit_for(doc_region, contact["unit"])
        session.add(document)
        session.flush()
        for ordinal, pm in enumerate(d.measures, start=1):
            mid = next_id
            next_id += 1
            measure_rows.append(dict(
                id=mid, document_id=document.id, ordinal=ordinal, section_number=pm.section_number,
                section_heading=pm.section_heading, item_number=pm.item_number, item_heading=pm.item_heading,
                clause_no=pm.clause_no, text=pm.text, source_line=pm.line, deadline_text=pm.deadline_text,
                deadline=pm.deadline, valid_until=pm.valid_until, validity_source=pm.validity_source, kind=pm.kind))
            n_measures += 1
            for role, names in (("lead", pm.lead_units), ("responsible", pm.responsible_units)):
                for name in names:
                    unit_rows.append((mid, unit_for(doc_region, name), role, name))
            for a in pm.amounts:
                amount_rows.append({"measure_id": mid, "raw": a.raw, "value": a.value, "unit": a.unit,
                                    "qualifier": a.qualifier, "sentence": a.sentence, "kind": a.kind})
            for i, sentence in enumerate(split_sentences(pm.text)):
                sentence_rows.append({"measure_id": mid, "ordinal": i, "text": sentence,
                                      "tokens": " ".join(index_tokens(sentence))})
            for kind, values in pm.tags.items():
                for value, stated in values.items():
                    tag_rows.append({"measure_id": mid, "kind": kind, "value": value, "stated": stated})
            for t in terms(f"{pm.item_heading} {pm.text}"):
                term_rows.append({"measure_id": mid, "term": t})
    session.flush()  # the units get their ids
    if measure_rows:
        session.execute(insert(db.Measure), measure_rows)
        if session.get_bind().dialect.name == "postgresql":  # explicit ids: move the sequence past them
            session.execute(text("SELECT setval(pg_get_serial_sequence('measures', 'id'), (SELECT max(id) FROM measures))"))
    if unit_rows:
        session.execute(insert(db.MeasureUnit), [{"measure_id": mid, "unit_id": u.id, "role": role, "name_as_written": name}
                                                 for mid, u, role, name in unit_rows])
    if amount_rows:
        session.execute(insert(db.AmountRow), amount_rows)
    if tag_rows:
        session.execute(insert(db.Tag), tag_rows)
    if term_rows:
        session.execute(insert(db.Term), term_rows)
    if sentence_rows:
        session.execute(insert(db.Sentence), sentence_rows)
    session.add(db.BuildInfo(key="built_at", value=dt.datetime.now().isoformat(timespec="seconds")))
    # identifies this build's contents: bot.query caches stored measure fields per build_id
    session.add(db.BuildInfo(key="build_id", value=uuid.uuid4().hex))
    session.add(db.BuildInfo(key="documents", value=",".join(f"{d.key}:{d.sha256[:12]}" for d in docs)))
    session.flush()
    return {"documents": len(docs), "measures": n_measures, "units": len(units)}


def _as_date(value) -> Optional[dt.date]:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
