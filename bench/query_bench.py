"""How fast are the build and the query, and how does the query scale?

    .venv/bin/python -m bench.query_bench [--postgres | --url URL] [--n 100000] [--queries 400]

(a) build: ``bot.build.build`` of the five seed documents into a fresh SQLite
    file, 5 repetitions, median.
(b) query: p50/p95/p99 latency of ``bot.query.find_measures`` (a session per
    query, as the CLI and the actions do) for a fixed, seeded mix of queries —
    district only; district + size; district + industry + topic; free text
    read the way ``python -m bot ask`` reads it (slots extracted, whole sentence
    as ``text``); city-level district — first on the real 215-measure database,
    then, in the same run and on the same database, after adding synthetic
    measures up to N: the real parsed measures replicated into documents of
    every lexicon region, with sizes, industries, topics and validity dates
    perturbed, written with SQLAlchemy core bulk inserts into every table the
    build writes (documents, units, measures, measure_units, amounts, tags,
    sentences, terms). Before the sentences were written here, a free-text
    query at N ranked only the 215 real measures (the ranking reads sentences).

SQLite always; PostgreSQL too with --postgres (a throwaway server from
scripts/postgres.sh, stopped afterwards unless it was already running) or
--url (a PostgreSQL database the bench may wipe). Prints tables and writes
bench/out/query_bench.json; --explain also writes the query plans of one
query of each kind to bench/out/plans_<backend>.txt.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from sqlalchemy import create_engine, event, func, insert, select, text as sql, update
from sqlalchemy.engine import make_url

from bot import db
from bot.build import build
from bot.ingest import ParsedDocument, parse_all
from bot.lexicon import Lexicon, load_lexicon
from bot.query import Profile, find_measures
from bot.retrieve import index_tokens, split_sentences
from bot.segment import terms
from bot.profile_reader import extract_slots

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
AS_OF = dt.date(2026, 11, 25)
KINDS = ("district", "district+size", "district+industry+topic", "free text", "city")
LIMIT = 5  # what the assistant shows per page
PG_BENCH_DB = "policy_bench"


# ------------------------------------------------------------------ build
def bench_build(reps: int, url_for) -> dict:
    times = []
    counts = None
    for i in range(reps):
        url = url_for(i)
        t0 = time.perf_counter()
        counts = build(url)
        times.append(time.perf_counter() - t0)
        db.dispose_engine(url)
    return {"reps": reps, "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "first_s": times[0], "times_s": times, "counts": counts}


# ------------------------------------------------------------------ synthetic data
SIZE_SETS = [("小型", "微型"), ("中型", "小型", "微型"), ("个体工商户",), ("大型",), ("中型",),
             ("小型", "微型", "个体工商户"), ("大型", "中型")]
LEVEL_WEIGHT = {"province": 1, "city": 3}  # districts and function areas: 6


def _shift(d: Optional[dt.date], years: int) -> Optional[dt.date]:
    if d is None or not years:
        return d
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


class _Ids:
    """Explicit primary keys continuing after what the build wrote."""

    def __init__(self, conn):
        self.next = {}
        for model in (db.Document, db.Unit, db.UnitAlias, db.Measure, db.MeasureUnit, db.AmountRow, db.Tag, db.Term,
                      db.Sentence):
            self.next[model.__tablename__] = (conn.execute(select(func.max(model.id))).scalar() or 0) + 1

    def take(self, table: str) -> int:
        i = self.next[table]
        self.next[table] = i + 1
        return i


def add_synthetic(url: str, n_total: int, seed: int, docs: List[ParsedDocument], lex: Lexicon,
                  batch_terms: int = 200_000) -> dict:
    """Add measures to the database at ``url`` (built from the seeds) until it holds ``n_total``."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    templates = [(d, [(pm, terms(f"{pm.item_heading} {pm.text}"),
                       [(s, " ".join(index_tokens(s))) for s in split_sentences(pm.text)]) for pm in d.measures])
                 for d in docs]
    regions = list(lex.regions.values())
    weights = [LEVEL_WEIGHT.get(r.level, 6) for r in regions]
    industries = list(lex.industries)
    topics = list(lex.topics)
    is_pg = url.startswith("postgresql")
    # PostgreSQL: bigger execute_values pages than the app's engine uses
    engine = create_engine(url, future=True, executemany_values_page_size=10_000) if is_pg else db.get_engine(url)
    rows: Dict[str, List[dict]] = {}
    order = [db.Unit, db.UnitAlias, db.Document, db.Measure, db.MeasureUnit, db.AmountRow, db.Tag, db.Term,
             db.Sentence]
    written = {m.__tablename__: 0 for m in order}

    def flush(conn):
        for model in order:
            batch = rows.pop(model.__tablename__, None)
            if batch:
                conn.execute(insert(model), batch)
                written[model.__tablename__] += len(batch)

    def add(model, **values):
        rows.setdefault(model.__tablename__, []).append(values)

    with engine.begin() as conn:
        if is_pg and conn.execute(sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
            # every row is written with its parent first: skip the per-row foreign-key triggers
            conn.execute(sql("SET LOCAL session_replication_role = replica"))
        have = conn.execute(select(func.count(db.Measure.id))).scalar_one()
        ids = _Ids(conn)
        units = {(r, n): i for i, r, n in conn.execute(select(db.Unit.id, db.Unit.region, db.Unit.name))}

        def unit_id(region: str, written_name: str) -> int:
            name = lex.canonical_unit(region, written_name)
            key = (region, name)
            if key not in units:
                uid = units[key] = ids.take("units")
                add(db.Unit, id=uid, region=region, name=name, full_name=lex.unit_full_name(region, name),
                    generic=lex.is_generic_unit(name))
                for alias in lex.unit_alias_list(region, name):
                    add(db.UnitAlias, id=ids.take("unit_aliases"), unit_id=uid, alias=alias)
            return units[key]

        n = have
        while n < n_total:
            d, measures = rng.choice(templates)
            region = rng.choices(regions, weights)[0].name
            years = rng.choice((0, 0, 1, 2, 4, 6))
            meta = d.meta
            contact = meta.get("contact") or {}
            doc_id = ids.take("documents")
            add(db.Document, id=doc_id, key=f"b{doc_id:07d}", file=d.file,
                sha256=hashlib.sha256(f"{d.sha256}{doc_id}".encode()).hexdigest(),
                title=f"{meta['title']}（{region}·{doc_id}）", title_note=meta.get("title_note"),
                issuer=meta.get("issuer"), region=region, doc_number=meta.get("doc_number"),
                published=_shift(_date(meta.get("published")), years), valid_until=_shift(d.valid_until, years),
                validity_text=meta.get("validity_text"), source_url=meta.get("source_url"),
                contact_unit_id=unit_id(region, contact["unit"]) if contact.get("unit") else None,
                contact_text=contact.get("text"), header_sizes=",".join(d.sizes) or None,
                header_regions=d.header.get("适用区域"))
            below = lex.descendants(region)
            for ordinal, (pm, pm_terms, pm_sentences) in enumerate(measures[: n_total - n], start=1):
                mid = ids.take("measures")
                add(db.Measure, id=mid, document_id=doc_id, ordinal=ordinal, section_number=pm.section_number,
                    section_heading=pm.section_heading, item_number=pm.item_number, item_heading=pm.item_heading,
                    clause_no=pm.clause_no, text=pm.text, source_line=pm.line, deadline_text=pm.deadline_text,
                    deadline=_shift(pm.deadline, years), valid_until=_shift(pm.valid_until, years),
                    validity_source=pm.validity_source, kind=pm.kind)
                for i, (sentence, tokens) in enumerate(pm_sentences):
                    add(db.Sentence, id=ids.take("sentences"), measure_id=mid, ordinal=i, text=sentence, tokens=tokens)
                for role, names in (("lead", pm.lead_units), ("responsible", pm.responsible_units)):
                    for name in names:
                        add(db.MeasureUnit, id=ids.take("measure_units"), measure_id=mid, unit_id=unit_id(region, name),
                            role=role, name_as_written=name)
                for a in pm.amounts:
                    add(db.AmountRow, id=ids.take("amounts"), measure_id=mid, raw=a.raw, value=a.value, unit=a.unit,
                        qualifier=a.qualifier, sentence=a.sentence)
                tags = {k: dict(v) for k, v in pm.tags.items()}
                # a document that names several areas (珠海's) tags them all
                tags["district"] = {r: True for r in ([region] + (below if len(pm.tags.get("district", {})) > 1 else []))}
                extra_terms: List[str] = []
                if rng.random() < 0.3:
                    tags["size"] = {s: True for s in rng.choice(SIZE_SETS)} if rng.random() < 0.7 else {}
                if rng.random() < 0.3:
                    tags["industry"] = {i: True for i in rng.sample(industries, rng.choice((1, 1, 2)))}
                    extra_terms += list(tags["industry"])
                if rng.random() < 0.3:
                    tags["topic"] = {t: True for t in rng.sample(topics, rng.choice((1, 1, 2)))}
                    extra_terms += list(tags["topic"])
                for kind, values in tags.items():
                    for value, stated in values.items():
                        add(db.Tag, id=ids.take("tags"), measure_id=mid, kind=kind, value=value, stated=stated)
                seen = set()
                for t in pm_terms + [t.lower() for t in extra_terms if len(t) <= 32]:
                    if t not in seen:
                        seen.add(t)
                        add(db.Term, id=ids.take("terms"), measure_id=mid, term=t)
                n += 1
            if len(rows.get("terms", ())) >= batch_terms:
                flush(conn)
        flush(conn)
        # new contents, a new build id, as a rebuild writes: bot.query keeps what it loaded (the
        # ranking's index, the tag index, measures) per build id, and would go on answering from
        # the 215 real measures it loaded before
        conn.execute(update(db.BuildInfo).where(db.BuildInfo.key == "build_id").values(value=uuid.uuid4().hex))
        if is_pg:  # explicit ids: move the sequences past them
            for model in order:
                t = model.__tablename__
                conn.execute(sql(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"))
    if is_pg:
        engine.dispose()
    return {"measures": n, "added": written, "seconds": time.perf_counter() - t0}


def _date(value) -> Optional[dt.date]:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def analyze(url: str) -> None:
    engine = db.get_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sql("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sql("ANALYZE"))


# ------------------------------------------------------------------ queries
def make_queries(n: int, seed: int, lex: Lexicon, docs: List[ParsedDocument]) -> List[dict]:
    """A fixed mix: ``n`` queries, the five kinds in turn."""
    rng = random.Random(seed)
    districts = [r for r in lex.regions.values() if r.level in ("district", "function_area")]
    cities = [r for r in lex.regions.values() if r.level == "city"]
    sizes = [w for w, _ in lex.size_terms()]
    industries = [w for w, _ in lex.industry_terms()]
    topics = [w for w, _ in lex.topic_terms()]
    headings = sorted({pm.item_heading for d in docs for pm in d.measures if 2 <= len(pm.item_heading) <= 16})
    phrases = headings + ["贷款贴息", "稳岗补贴", "减免租金", "社保费缓缴", "量子引力专项资助", "怎么申请补贴"]

    def say(region) -> str:
        return rng.choice((region.name,) + region.aliases)

    out = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        q = {"kind": kind, "district": None, "industry": None, "size": None, "topic": None, "text": ""}
        if kind == "district":
            q["district"] = say(rng.choice(districts))
        elif kind == "district+size":
            q.update(district=say(rng.choice(districts)), size=rng.choice(sizes))
        elif kind == "district+industry+topic":
            q.update(district=say(rng.choice(districts)), industry=rng.choice(industries), topic=rng.choice(topics))
        elif kind == "free text":
            sentence = say(rng.choice(districts)) + (rng.choice(sizes) if rng.random() < 0.5 else "") + rng.choice(phrases)
            q.update(extract_slots(sentence))
            q["text"] = sentence
        else:
            q.update(district=say(rng.choice(cities)), size=rng.choice(sizes) if rng.random() < 0.4 else None)
        out.append(q)
    return out


def _profile(q: dict, lex: Lexicon) -> Profile:
    return Profile.from_slots(q["district"], q["industry"], q["size"], q["topic"], lex=lex)


def run_queries(url: str, queries: List[dict], warmup: int, lex: Lexicon) -> Tuple[List[float], List[float], List[list]]:
    """Wall-clock latencies, this process's CPU time (all of SQLite's work; only the client's for PostgreSQL)
    and the answers (total, relaxed, ids) of each query."""
    factory = db.session_factory(url)
    profiles = [_profile(q, lex) for q in queries]
    for i in range(warmup):  # every kind, caches and connections warm
        with factory() as s:
            find_measures(s, profiles[i % len(profiles)], text=queries[i % len(queries)]["text"], as_of=AS_OF,
                          limit=LIMIT, lex=lex)
    latencies, cpu, answers = [], [], []
    for p, q in zip(profiles, queries):
        t0, c0 = time.perf_counter(), time.process_time()
        with factory() as s:
            qr = find_measures(s, p, text=q["text"], as_of=AS_OF, limit=LIMIT, lex=lex)
        latencies.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        answers.append([qr.total, qr.relaxed, [r.id for r in qr.results]])
    return latencies, cpu, answers


def stats(latencies: List[float]) -> dict:
    ms = sorted(x * 1000 for x in latencies)
    if len(ms) < 2:
        ms = ms * 2
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"n": len(latencies), "p50_ms": cuts[49], "p95_ms": cuts[94], "p99_ms": cuts[98],
            "mean_ms": statistics.fmean(ms), "max_ms": ms[-1]}


def by_kind(queries: List[dict], latencies: List[float]) -> Dict[str, dict]:
    return {k: stats([t for q, t in zip(queries, latencies) if q["kind"] == k]) for k in KINDS}


# ------------------------------------------------------------------ plans
def explain(url: str, queries: List[dict], lex: Lexicon) -> str:
    """The plans of the statements find_measures runs, for the first query of each kind."""
    engine = db.get_engine(url)
    captured: List[Tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    out = []
    for kind in KINDS:
        q = next(x for x in queries if x["kind"] == kind)
        captured.clear()
        event.listen(engine, "before_cursor_execute", grab)
        try:
            with db.session_factory(url)() as s:
                find_measures(s, _profile(q, lex), text=q["text"], as_of=AS_OF, limit=LIMIT, lex=lex)
        finally:
            event.remove(engine, "before_cursor_execute", grab)
        out.append(f"==== {kind}: {json.dumps({k: v for k, v in q.items() if v and k != 'kind'}, ensure_ascii=False)}")
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for statement, params in captured:
                if "AS applies" not in statement and "count(*)" not in statement.lower():  # the ranking ones
                    continue
                if engine.dialect.name == "postgresql":
                    cur.execute("EXPLAIN (ANALYZE, COSTS OFF, BUFFERS OFF) " + statement, params)
                    plan = "\n".join(r[0] for r in cur.fetchall())
                else:
                    cur.execute("EXPLAIN QUERY PLAN " + statement, params)
                    plan = "\n".join(f"{r[0]:>4} {r[1]:>4} {r[3]}" for r in cur.fetchall())
                out.append(f"-- {statement.splitlines()[0][:100]} …\n{plan}\n")
        finally:
            raw.close()
    return "\n".join(out)


# ------------------------------------------------------------------ PostgreSQL
def start_postgres() -> Tuple[str, bool]:
    """URL of a bench database on the scripts/postgres.sh server; True when this call started the server."""
    started = not (ROOT / "var" / "pg" / "port").exists()
    out = subprocess.run(["bash", "-c", 'source scripts/postgres.sh && start_postgres && echo "$PG_URL"'], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"could not start PostgreSQL:\n{out.stderr}")
    url = make_url(out.stdout.strip().splitlines()[-1])
    url = url.set(database="postgres")
    engine = db.get_engine(str(url))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sql(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}"))
        conn.execute(sql(f"CREATE DATABASE {PG_BENCH_DB}"))
    db.dispose_engine(str(url))
    return str(url.set(database=PG_BENCH_DB)), started


def drop_bench_database(url: str) -> None:
    server = str(make_url(url).set(database="postgres"))
    with db.get_engine(server).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sql(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}"))
    db.dispose_engine(server)


def stop_postgres() -> None:
    subprocess.run(["bash", "-c", "source scripts/postgres.sh && stop_postgres"], cwd=ROOT, check=False)


def server_version(url: str) -> str:
    engine = db.get_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return conn.execute(sql("SHOW server_version")).scalar()
        return "SQLite " + conn.execute(sql("SELECT sqlite_version()")).scalar()


# ------------------------------------------------------------------ one backend
def bench_backend(name: str, url: str, args, queries: List[dict], docs: List[ParsedDocument], lex: Lexicon) -> dict:
    print(f"[{name}] building the real database …", file=sys.stderr)
    engine = db.get_engine(url)
    if engine.dialect.name != "sqlite":  # fresh tables and sequences: the same ids as on SQLite
        db.Base.metadata.drop_all(engine)
    build(url)
    with db.session_factory(url)() as s:
        real = s.execute(select(func.count(db.Measure.id))).scalar_one()
    lat_base, cpu_base, ans_base = run_queries(url, queries, args.warmup, lex)
    print(f"[{name}] adding synthetic measures up to {args.n:,} …", file=sys.stderr)
    gen = add_synthetic(url, args.n, args.seed, docs, lex)
    is_pg = db.get_engine(url).dialect.name == "postgresql"
    analyzed = is_pg or args.analyze
    if analyzed:  # PostgreSQL's autovacuum would; the SQLite build never does
        analyze(url)
    db.dispose_engine(url)
    print(f"[{name}] querying {len(queries)} × 2 …", file=sys.stderr)
    lat_big, cpu_big, ans_big = run_queries(url, queries, args.warmup, lex)
    result = {
        "backend": name, "server": server_version(url), "analyzed": analyzed, "generate": gen,
        "baseline": {"measures": real, **stats(lat_base), "cpu": stats(cpu_base), "by_kind": by_kind(queries, lat_base)},
        "large": {"measures": gen["measures"], **stats(lat_big), "cpu": stats(cpu_big),
                  "by_kind": by_kind(queries, lat_big)},
        "load_average": list(os.getloadavg()),
        "answers": {"baseline": ans_base, "large": ans_big},
    }
    result["ratio"] = {k: result["large"][k] / result["baseline"][k] for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms")}
    if args.explain or (not is_pg and result["large"]["p95_ms"] > 150):
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        plan_file = OUT_DIR / f"plans_{name}.txt"
        plan_file.write_text(explain(url, queries, lex), encoding="utf-8")
        result["plans"] = str(plan_file.relative_to(ROOT))
    db.dispose_engine(url)
    return result


# ------------------------------------------------------------------ report
def table(report: dict) -> str:
    lines = []
    b = report["build"]
    lines.append(f"build, 5 seed documents → SQLite ({b['counts']['measures']} measures), {b['reps']} runs: "
                 f"median {b['median_s']:.2f} s (min {b['min_s']:.2f}, max {b['max_s']:.2f}, first {b['first_s']:.2f})")
    if "build_postgres" in report:
        b = report["build_postgres"]
        lines.append(f"build, 5 seed documents → PostgreSQL, {b['reps']} runs: median {b['median_s']:.2f} s "
                     f"(min {b['min_s']:.2f}, max {b['max_s']:.2f})")
    lines.append("")
    lines.append(f"find_measures latency, {report['queries']} queries (+{report['warmup']} warm-up), limit {LIMIT}:")
    head = (f"{'backend':<10} {'measures':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}"
            f"   {'cpu p50':>8} {'cpu p95':>8}")
    lines += [head, "-" * len(head)]
    for r in report["backends"]:
        for part in ("baseline", "large"):
            s = r[part]
            cpu = (f"   {s['cpu']['p50_ms']:>8.1f} {s['cpu']['p95_ms']:>8.1f}" if r["backend"] == "sqlite" else "")
            lines.append(f"{r['backend']:<10} {s['measures']:>9,} {s['p50_ms']:>8.1f} {s['p95_ms']:>8.1f} "
                         f"{s['p99_ms']:>8.1f} {s['mean_ms']:>8.1f} {s['max_ms']:>8.1f}{cpu}")
        x = r["ratio"]
        lines.append(f"{'':<10} {'ratio':>9} {x['p50_ms']:>7.1f}× {x['p95_ms']:>7.1f}× {x['p99_ms']:>7.1f}× "
                     f"{x['mean_ms']:>7.1f}×")
    lines.append("(cpu: this process's CPU time per query — all of SQLite's work, so less sensitive to other load "
                 "on the machine; load average during the runs: "
                 + ", ".join(f"{r['backend']} {r['load_average'][0]:.1f}" for r in report["backends"]) + ")")
    lines.append("")
    lines.append("p50 / p95 ms by kind of query (real → large):")
    head = f"{'backend':<10} {'kind':<24} {'p50 real':>9} {'p95 real':>9} {'p50 large':>10} {'p95 large':>10}"
    lines += [head, "-" * len(head)]
    for r in report["backends"]:
        for k in KINDS:
            a, c = r["baseline"]["by_kind"][k], r["large"]["by_kind"][k]
            lines.append(f"{r['backend']:<10} {k:<24} {a['p50_ms']:>9.1f} {a['p95_ms']:>9.1f} {c['p50_ms']:>10.1f} "
                         f"{c['p95_ms']:>10.1f}")
    if len(report["backends"]) == 2:
        lines.append("")
        lines.append(f"same answers on both backends: real {report['agree']['baseline']}, "
                     f"large {report['agree']['large']} (of {report['queries']})")
    for r in report["backends"]:
        g = r["generate"]
        lines.append(f"[{r['backend']}] generated {g['measures']:,} measures in {g['seconds']:.0f} s "
                     f"({g['added']['sentences']:,} sentences, {g['added']['terms']:,} terms, {g['added']['tags']:,} tags); ANALYZE: {r['analyzed']}"
                     + (f"; plans: {r['plans']}" if r.get("plans") else ""))
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.query_bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="measures in the large database (default 100000)")
    ap.add_argument("--queries", type=int, default=400, help="timed queries per database (default 400)")
    ap.add_argument("--warmup", type=int, default=50, help="untimed queries first (default 50)")
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--build-reps", type=int, default=5)
    ap.add_argument("--postgres", action="store_true", help="also on PostgreSQL, a server from scripts/postgres.sh")
    ap.add_argument("--url", help="also on this PostgreSQL database (it is wiped)")
    ap.add_argument("--no-sqlite", action="store_true", help="skip the SQLite query benchmark")
    ap.add_argument("--analyze", action="store_true", help="ANALYZE the large SQLite database before querying")
    ap.add_argument("--explain", action="store_true", help="write query plans to bench/out/plans_<backend>.txt")
    ap.add_argument("--keep-db", action="store_true", help="keep the large SQLite database as bench/out/bench.db")
    ap.add_argument("--out", default=str(OUT_DIR / "query_bench.json"))
    args = ap.parse_args(argv)

    lex = load_lexicon()
    docs = parse_all(lex=lex)
    queries = make_queries(args.queries, args.seed, lex, docs)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    report: dict = {"when": dt.datetime.now().isoformat(timespec="seconds"), "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version, "machine": platform.platform(), "n": args.n,
                    "queries": len(queries), "warmup": args.warmup, "seed": args.seed, "limit": LIMIT,
                    "as_of": AS_OF.isoformat(), "backends": []}

    with tempfile.TemporaryDirectory(prefix="query_bench.") as tmp:
        print("[build] timing the build …", file=sys.stderr)
        report["build"] = bench_build(args.build_reps, lambda i: f"sqlite:///{tmp}/build{i}.db")
        if not args.no_sqlite:
            path = OUT_DIR / "bench.db" if args.keep_db else Path(tmp) / "bench.db"
            if path.exists():
                path.unlink()
            report["backends"].append(bench_backend("sqlite", f"sqlite:///{path}", args, queries, docs, lex))

    pg_url, started = args.url, False
    if args.postgres and not pg_url:
        pg_url, started = start_postgres()
    try:
        if pg_url:
            report["build_postgres"] = bench_build(args.build_reps, lambda i: pg_url)
            report["backends"].append(bench_backend("postgresql", pg_url, args, queries, docs, lex))
    finally:
        if pg_url:
            db.dispose_engine(pg_url)
        if started:
            stop_postgres()
        elif args.postgres and pg_url:  # a server someone else started: leave it as we found it
            drop_bench_database(pg_url)

    if len(report["backends"]) == 2:
        a, b = (r["answers"] for r in report["backends"])
        report["agree"] = {part: sum(x == y for x, y in zip(a[part], b[part])) for part in ("baseline", "large")}
    report["query_list"] = queries
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(table(report))
    print(f"\nwritten: {Path(args.out).resolve().relative_to(ROOT) if Path(args.out).resolve().is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
