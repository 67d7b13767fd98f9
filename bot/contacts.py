"""Contact directory: a hotline centre loads its real directory from CSV.

The seeds give no phone numbers, so none are invented: contacts exist only
when a person imports them, with a `source` saying where each came from.
``export`` writes every unit (with what is on record) as the CSV to fill in;
``import`` validates the whole file first and writes nothing if any row is bad.
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from typing import Dict, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot import db

COLUMNS = ["region", "unit", "full_name", "phone", "address", "website", "source", "updated"]
PHONE = re.compile(r"^[0-9+()\-\s、,/转]{5,40}$")


def _unit_index(session: Session) -> Dict[Tuple[str, str], db.Unit]:
    index: Dict[Tuple[str, str], db.Unit] = {}
    for u in session.execute(select(db.Unit).options(selectinload(db.Unit.aliases))).scalars():
        index[(u.region, u.name)] = u
        for a in u.aliases:
            index.setdefault((u.region, a.alias), u)
        if u.full_name:
            index.setdefault((u.region, u.full_name), u)
    return index


def import_csv(path: str, url: Optional[str] = None) -> dict:
    errors: List[str] = []
    rows: List[dict] = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"region", "unit", "source"} - set(reader.fieldnames or [])
            if missing:
                return {"imported": 0, "errors": [f"{path}: missing columns {sorted(missing)}"]}
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return {"imported": 0, "errors": [f"{path}: cannot read: {exc}"]}

    Session_ = db.session_factory(url)
    with Session_() as session:
        index = _unit_index(session)
        planned: Dict[Tuple[str, str], dict] = {}
        for lineno, row in enumerate(rows, start=2):
            row = {k: (v or "").strip() for k, v in row.items() if k}
            unit = index.get((row.get("region", ""), row.get("unit", "")))
            if unit is None:
                errors.append(f"{path}:{lineno}: no unit '{row.get('unit')}' in region '{row.get('region')}' "
                              f"(run 'python -m bot contacts export units.csv' for the list)")
                continue
            if not row.get("source"):
                errors.append(f"{path}:{lineno}: 'source' is required (where does this contact come from?)")
                continue
            if row.get("phone") and not PHONE.match(row["phone"]):
                errors.append(f"{path}:{lineno}: phone '{row['phone']}' does not look like a phone number")
                continue
            updated = None
            if row.get("updated"):
                try:
                    updated = dt.date.fromisoformat(row["updated"])
                except ValueError:
                    errors.append(f"{path}:{lineno}: updated '{row['updated']}' is not YYYY-MM-DD")
                    continue
            planned[(unit.region, unit.name)] = {
                "region": unit.region, "unit_name": unit.name, "full_name": row.get("full_name") or None,
                "phone": row.get("phone") or None, "address": row.get("address") or None,
                "website": row.get("website") or None, "source": row["source"], "updated": updated,
            }
        if errors:
            return {"imported": 0, "errors": errors}
        existing = {(c.region, c.unit_name): c for c in session.execute(select(db.Contact)).scalars()}
        for key, values in planned.items():
            if key in existing:
                for k, v in values.items():
                    setattr(existing[key], k, v)
            else:
                session.add(db.Contact(**values))
        session.commit()
    return {"imported": len(planned), "errors": []}


def export_units(path: str, url: Optional[str] = None) -> None:
    Session_ = db.session_factory(url)
    with Session_() as session:
        units = session.execute(select(db.Unit).where(db.Unit.generic.is_(False))
                                .order_by(db.Unit.region, db.Unit.name)).scalars().all()
        contacts = {(c.region, c.unit_name): c for c in session.execute(select(db.Contact)).scalars()}
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for u in units:
            c = contacts.get((u.region, u.name))
            w.writerow([u.region, u.name, (c.full_name if c else None) or u.full_name or "", c.phone if c else "",
                        c.address if c else "", c.website if c else "", c.source if c else "",
                        c.updated.isoformat() if c and c.updated else ""])
