"""Command line: ``python -m bot build | add | ask | stats | contacts | lexicon | nlu-report``.

For agents and for checking what the database holds; the chat assistant uses
the same functions through the Rasa actions.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import List, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def _session(url: Optional[str]) -> Session:
    from bot import db
    return db.session_factory(url)()


def cmd_build(args) -> int:
    from bot.build import build
    from bot.ingest import IngestError
    warnings: List[str] = []
    try:
        counts = build(args.database_url, warnings=warnings)
    except IngestError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        print("the previous database was left untouched", file=sys.stderr)
        return 2
    print(json.dumps(counts, ensure_ascii=False) if args.json else
          f"built: {counts['documents']} documents, {counts['measures']} measures, {counts['units']} units")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def cmd_add(args) -> int:
    """Review a new document (report, nothing live); with --accept put it live."""
    from bot.documents.review import Refused, accept, render_text, review_file
    overrides = {"title": args.title, "issuer": args.issuer}
    try:
        kw = {"review_dir": Path(args.review_dir)} if args.review_dir else {}
        rv = review_file(args.file, region=args.region, overrides=overrides, **kw)
    except Refused as exc:
        print(f"not added: {exc}", file=sys.stderr)
        return 2
    print(render_text(rv))
    print(f"report with each measure beside its source lines: {rv.pending_dir() / 'report.html'}")
    if rv.errors:
        print("\nnot added: fix what is refused above (the file, or the entry in "
              f"{rv.pending_dir() / 'entry.yml'}), then run this command again", file=sys.stderr)
        return 1
    if not args.accept:
        again = (f"python -m bot add {args.file}" + (f" --region {args.region}" if args.region else "")
                 + (f" --review-dir {args.review_dir}" if args.review_dir else "") + " --accept")
        print(f"\nnothing is live yet. Confirm the entry above (edit {rv.pending_dir() / 'entry.yml'} if needed), "
              f"then: {again}")
        return 0
    try:
        done = accept(rv, database_url=args.database_url, retrain=not args.no_retrain)
    except Exception as exc:  # the build failed: seeds/ restored, the previous database intact
        print(f"not added: {exc}", file=sys.stderr)
        return 2
    print("\naccepted:")
    for step in done.steps:
        print(f"  - {step}")
    return 0


def cmd_ask(args) -> int:
    from bot.answer import answer_text
    from bot.query import Profile, find_measures
    from bot.profile_reader import extract_slots
    text = " ".join(args.text)
    slots = extract_slots(text)
    for name in ("district", "industry", "size", "topic"):
        if getattr(args, name):
            slots[name] = getattr(args, name)
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else dt.date.today()
    profile = Profile.from_slots(slots["district"], slots["industry"], slots["size"], slots["topic"])
    with _session(args.database_url) as s:
        qr = find_measures(s, profile, text=text, as_of=as_of, limit=args.limit, offset=args.offset)
    if args.json:
        out = qr.to_dict()
        out["slots"] = slots
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(answer_text(qr, page_size=args.limit))
    return 0


def cmd_stats(args) -> int:
    from bot import db
    with _session(args.database_url) as s:
        per_doc = s.execute(select(db.Document.key, db.Document.title, func.count(db.Measure.id))
                            .join(db.Measure).group_by(db.Document.id).order_by(db.Document.key)).all()
        per_tag = s.execute(select(db.Tag.kind, db.Tag.value, func.count(db.Tag.measure_id))
                            .group_by(db.Tag.kind, db.Tag.value).order_by(db.Tag.kind, func.count(db.Tag.measure_id).desc())).all()
        n_units = s.execute(select(func.count(db.Unit.id))).scalar_one()
        n_contacts = s.execute(select(func.count(db.Contact.id))).scalar_one()
    stats = {
        "documents": {k: {"title": t, "measures": n} for k, t, n in per_doc},
        "measures": sum(n for _, _, n in per_doc),
        "tags": {},
        "units": n_units,
        "contacts": n_contacts,
    }
    for kind, value, n in per_tag:
        stats["tags"].setdefault(kind, {})[value] = n
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
    else:
        for k, v in stats["documents"].items():
            print(f"{k}  {v['measures']:4d}  {v['title']}")
        print(f"total {stats['measures']} measures, {n_units} units, {n_contacts} contacts")
        for kind, values in stats["tags"].items():
            print(f"{kind}: " + ", ".join(f"{v}={n}" for v, n in values.items()))
    return 0


def cmd_contacts(args) -> int:
    from bot.contacts import export_units, import_csv
    if args.action == "import":
        report = import_csv(args.file, args.database_url)
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0 if not report["errors"] else 1
    export_units(args.file, args.database_url)
    print(f"wrote {args.file}")
    return 0


def cmd_lexicon(args) -> int:
    from bot.lexicon_artifacts import generate_all
    for path in generate_all():
        print(f"wrote {path}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bot", description="政策助手: measures database and queries")
    ap.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: $DATABASE_URL or var/measures.db)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="rebuild the measures database from seeds/")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_build)
    ad = sub.add_parser("add", help="add a policy document (.txt/.html/.docx/.pdf): review report first, "
                                    "--accept puts it live")
    ad.add_argument("file")
    ad.add_argument("--region", help="where the measures apply (a region in bot/lexicon.yml); default: read from the text")
    ad.add_argument("--title", help="the title, when the text prints none or prints it differently")
    ad.add_argument("--issuer")
    ad.add_argument("--accept", action="store_true", help="put it live: seeds/, manifest, database, lexicon, model")
    ad.add_argument("--no-retrain", action="store_true", help="do not retrain the model now; say what to run instead")
    ad.add_argument("--review-dir", help="where drafts and reports wait for acceptance (default var/review)")
    ad.set_defaults(func=cmd_add)
    a = sub.add_parser("ask", help="which measures apply, for a question in Chinese")
    a.add_argument("text", nargs="+")
    a.add_argument("--json", action="store_true")
    a.add_argument("--district")
    a.add_argument("--industry")
    a.add_argument("--size")
    a.add_argument("--topic")
    a.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
    a.add_argument("--limit", type=int, default=5)
    a.add_argument("--offset", type=int, default=0)
    a.set_defaults(func=cmd_ask)
    st = sub.add_parser("stats", help="measures per document and per tag")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_stats)
    c = sub.add_parser("contacts", help="import a hotline centre's contact directory (CSV) or export the unit list")
    c.add_argument("action", choices=["import", "export"])
    c.add_argument("file")
    c.set_defaults(func=cmd_contacts)
    lx = sub.add_parser("lexicon", help="generate the jieba dictionary and Rasa lookup tables from bot/lexicon.yml")
    lx.set_defaults(func=cmd_lexicon)
    nr = sub.add_parser("nlu-report", help="check the training data, train if needed, test on the held-out set, "
                                           "write var/nlu-report/index.html (bot/nlu_report.py)")
    from bot import nlu_report
    nlu_report.add_arguments(nr)
    nr.set_defaults(func=nlu_report.command)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
