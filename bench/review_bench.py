"""How long does the trainers' review list take on a large tracker store?

    .venv/bin/python -m bench.review_bench [--events 20000] [--repeat 5]

Writes a SQLite tracker store with Rasa's own SQLTrackerStore schema (one conversation, then the
``events`` table filled with user events shaped like Rasa's, one in five below 0.6 confidence,
a few hundred distinct sentences), and times ``bot.review.Review.candidates`` — what
``GET /api/review/messages`` runs — median of ``--repeat`` calls. Prints and writes
bench/out/review_bench.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bot.review import Review

OUT = Path(__file__).resolve().parent / "out"


async def _schema(db: Path) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))
    await store.save(DialogueStateTracker("seed", None))


def fill(db: Path, n: int) -> None:
    rnd = random.Random(13)
    sentences = [f"第{i}种说法的问题" for i in range(400)]
    rows = []
    for i in range(n):
        t = rnd.choice(sentences)
        conf = rnd.random() * 0.6 if rnd.random() < 0.2 else 0.6 + rnd.random() * 0.4
        parse = {"text": t, "intent": {"name": "ask_measures", "confidence": conf},
                 "intent_ranking": [{"name": "ask_measures", "confidence": conf}] * 10,
                 "entities": [{"start": 0, "end": 2, "entity": "topic", "value": "x", "extractor": "DIETClassifier"}]}
        data = {"event": "user", "timestamp": 1.7e9 + i, "text": t, "parse_data": parse, "input_channel": "rest"}
        rows.append({"s": f"user-{i % 2000}", "ts": 1.7e9 + i, "d": json.dumps(data, ensure_ascii=False)})
    engine = create_engine(f"sqlite:///{db}", future=True)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) "
                          "VALUES (:s, 'user', :ts, 'ask_measures', :d)"), rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "tracker.db"
        asyncio.run(_schema(db))
        fill(db, args.events)
        review = Review(f"sqlite:///{db}", f"sqlite:///{Path(tmp) / 'inbox.db'}")
        review.candidates()  # engines, tables
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = review.candidates()
            times.append(time.perf_counter() - t0)
    result = {"events": args.events, "rows": out["total"], "scanned": out["scanned"],
              "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}
    print(json.dumps(result))
    OUT.mkdir(exist_ok=True)
    (OUT / "review_bench.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
