"""Replay the labelled retrieval set through the assistant's first reply, beside plain BM25.

    .venv/bin/python -m bench.retrieval_eval [--set dev|fresh|heldout|all] [--rest URL] [--show-misses N]

Each question of tests/retrieval/*.yml names the document, a verbatim excerpt of the
clause that answers it (``evidence``) and the key fact the reply must show (``fact``);
``answerable: false`` questions have no answer in the covered documents. The gold
measure is the clause of that document whose text contains the excerpt (both sides
normalised as the ingest normalises: NFKC, 繁→简, no spaces), so labels survive
rebuilds and id changes.

The assistant is asked the way the chat asks it: ``bot.chat.find`` with no slots
(the message alone, as a first message), i.e. the code path of ``action_find_measures``.
With ``--rest URL`` the same questions go through a running Rasa REST channel (the
trained NLU picks the intent and slots); recall needs ids, so that mode reports the
reply-level figures only.

Figures: recall@1, recall@3 and MRR over the first reply's list (three items); the
share of answerable questions answered in the first reply (the gold measure listed,
no question before it); the share whose key fact appears in the reply; the share of
unanswerable questions reported as not found (or as stating no number of the kind asked:
"没有写明金额或比例"), and of answerable ones told "not found";
and, for questions limited to small enterprises asked by a large one, whether the reply
says the clause does not apply. Ranks are over the questions a clause answers: one
answered by a document's own closing lines (its validity, the office to ask), which no
clause holds ("labels matched no clause"), counts in the key fact only.
The baseline is BM25 (bm25s, same jieba tokens, no synonyms, no filters) over whole
clauses, showing its top three in full with their units and asking nothing.

The held-out set is measured, never tuned on: `--set dev` is the one to iterate with. `fresh` is the
latest batch, measured as written (its header) before anything is tuned on it, then folded into dev.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
SETS = {"dev": ROOT / "tests" / "retrieval" / "dev.yml", "heldout": ROOT / "tests" / "retrieval" / "heldout.yml",
        "fresh": ROOT / "tests" / "retrieval" / "fresh.yml"}
OUT = ROOT / "bench" / "out"


def norm(text: str) -> str:
    from bot.textnorm import normalize_query
    t = normalize_query(unicodedata.normalize("NFKC", text or ""))
    return re.sub(r"\s+", "", t)


@dataclass
class Item:
    q: str
    doc: Optional[str]
    evidence: List[str]
    fact: Optional[str]
    answerable: bool
    note: Optional[str]
    gold: List[int] = field(default_factory=list)


def load(which: str) -> List[Item]:
    names = [n for n in SETS if SETS[n].exists()] if which == "all" else [which]
    items: List[Item] = []
    for name in names:
        path = SETS[name]
        if not path.exists():
            sys.exit(f"{path} is missing")
        for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]:
            items.append(Item(q=str(raw["q"]), doc=str(raw["doc"]) if raw.get("doc") is not None else None,
                              evidence=[str(e) for e in raw.get("evidence") or []],
                              fact=str(raw["fact"]) if raw.get("fact") is not None else None,
                              answerable=raw.get("answerable", True) is not False, note=raw.get("note")))
    return items


def attach_gold(items: List[Item], session) -> int:
    """Gold measure ids from the evidence; returns how many answerable items found none."""
    from sqlalchemy import select

    from bot import db
    rows = session.execute(select(db.Measure.id, db.Document.key, db.Measure.item_heading, db.Measure.text)
                           .join(db.Document, db.Document.id == db.Measure.document_id)).all()
    texts = [(mid, key, norm(f"{head or ''}{text}")) for mid, key, head, text in rows]
    missing = 0
    for it in items:
        if not it.answerable:
            continue
        for ev in it.evidence:
            e = norm(ev)
            it.gold.extend(mid for mid, key, t in texts if key == it.doc and e and e in t and mid not in it.gold)
        if not it.gold:
            missing += 1
    return missing


def ask_assistant(q: str):
    """The first reply as the chat gives it, and whether it reported "not found"."""
    from bot import chat
    whole = chat.about_documents({}, q)  # what chat.find answers first: a question about a whole document
    if whole is not None:
        return [], "\n".join(whole.messages), False, None
    profile, qr, learned = chat._query({}, q)
    reply = chat.compose(q, 0, (), profile, qr, learned)  # what chat.find({}, q) returns
    text = "\n".join(reply.messages)
    # "没有写明金额": the clauses about it state no number of the kind asked
    not_found = (not qr.found) or bool(profile.unknown.get("district")) or qr.region_covered is False \
        or bool(qr.unstated)
    # a clause the reply cites as not applying to the enterprise (a large one asking about a
    # measure for 小微企业) is the answer too: after the listed ones
    told = [r.id for r in qr.not_applying] if "不适用" in text else []
    return [int(i) for i in reply.slots.get("shown_measures", [])] + told, text, not_found, qr


def reported_not_found(text: str) -> bool:
    """What a REST reply says when nothing answers (wording.not_found, not_covered, unstated_head)."""
    return "没有关于" in text or "还没有收录" in text or "的措施没有写明" in text


def ask_rest(url: str, q: str, sender: str) -> str:
    body = json.dumps({"sender": sender, "message": q}).encode("utf-8")
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return "\n".join(r.get("text", "") for r in json.loads(resp.read()))


class Baseline:
    """Plain BM25 over whole clauses: top three in full, with units and validity; never "not found"."""

    def __init__(self, session):
        import bm25s
        from sqlalchemy import select

        from bot import db
        from bot.retrieve import index_tokens
        self.index_tokens = index_tokens
        self.ids, docs = [], []
        for mid, text in session.execute(select(db.Measure.id, db.Measure.text).order_by(db.Measure.id)).all():
            self.ids.append(mid)
            docs.append(index_tokens(text) or ["\u0000"])
        self.model = bm25s.BM25()
        self.model.index(docs, show_progress=False)
        self.session = session

    def ask(self, q: str):
        import numpy as np

        from bot.answer import units_sentence, validity_sentence
        from bot.query import get_measure
        words = [w for w in self.index_tokens(q) if w in self.model.vocab_dict]
        if not words:
            return [], ""
        scores = self.model.get_scores(words)
        top = [self.ids[i] for i in np.argsort(-scores)[:3] if scores[i] > 0]
        parts = []
        for mid in top:
            r = get_measure(self.session, mid)
            parts.append(f"{r.item_heading}{r.text}\n{validity_sentence(r, __import__('datetime').date.today())}\n"
                         f"{r.citation}\n{units_sentence(r)}")
        return top, "\n".join(parts)


def figures(rows: List[dict]) -> Dict[str, float]:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    # ranks only where a clause answers: a question answered by a document's closing lines
    # ("有效期自印发之日起至…", "请径向区发展改革局反映") has no clause to rank, only a key fact
    ranked = [r for r in ans if r["has_gold"]]
    placed = [r for r in ranked if r.get("names_covered_place")]
    small = [r for r in ans if r.get("note") == "limited_to_small"]

    def share(xs, key):
        return round(sum(1 for x in xs if x[key]) / len(xs), 3) if xs else None
    return {
        "answerable": len(ans), "unanswerable": len(una),
        "recall@1": share(ranked, "r1"), "recall@3": share(ranked, "r3"),
        "mrr": round(sum(r["rr"] for r in ranked) / len(ranked), 3) if ranked else None,
        "first_reply_answers": share(ranked, "r3"),
        "first_reply_answers_covered_place": share(placed, "r3"),
        "key_fact_shown": share(ans, "fact_shown"),
        "not_found_reported": share(una, "not_found"),
        # the other side of that trade-off: answerable questions told "not found" (lower is
        # better; not those whose answer is that the measure does not apply to the enterprise)
        "answerable_reported_not_found": share([r for r in ans if r.get("note") != "limited_to_small"], "not_found"),
        "limited_to_small_told": share(small, "told_not_applying"),
    }


def evaluate(items: List[Item], rest: Optional[str] = None, show_misses: int = 0) -> dict:
    from bot import db
    from bot.profile_reader import read_profile
    with db.session_factory()() as session:
        missing = attach_gold(items, session)
        base = Baseline(session)
        ours, theirs = [], []
        t0 = time.perf_counter()
        misses = []
        for n, it in enumerate(items):
            read, _ = read_profile({}, it.q)
            placed = bool(read.get("district"))
            if rest:
                text = ask_rest(rest, it.q, f"eval-{n}-{int(t0)}")
                ids, not_found = [], reported_not_found(text)
            else:
                ids, text, not_found, qr = ask_assistant(it.q)
            row = _score(it, ids, text, not_found, placed)
            row["told_not_applying"] = bool(it.note == "limited_to_small" and "不适用" in text)
            ours.append(row)
            b_ids, b_text = base.ask(it.q)
            theirs.append({**_score(it, b_ids, b_text, not b_ids, placed), "told_not_applying": False})
            if show_misses and it.answerable and not (row["r3"] and row["fact_shown"]):
                misses.append((it.q, it.fact, it.gold, ids, text.split("\n")[0][:80]))
            elif show_misses and not it.answerable and not not_found:
                misses.append((it.q, "(unanswerable)", [], ids, text.split("\n")[0][:80]))
        elapsed = time.perf_counter() - t0
    for m in misses[:show_misses]:
        print("MISS", *m, sep="\n   ")
    return {"assistant": figures(ours), "bm25_top3": figures(theirs), "labels_without_gold": missing,
            "questions": len(items), "seconds": round(elapsed, 1), "mode": "rest" if rest else "in-process"}


def _score(it: Item, ids: List[int], text: str, not_found: bool, placed: bool) -> dict:
    rank = next((i + 1 for i, mid in enumerate(ids[:5]) if mid in it.gold), None)
    rank = rank if rank is None or rank <= 3 or it.note == "limited_to_small" else None
    return {"answerable": it.answerable, "note": it.note, "names_covered_place": placed, "has_gold": bool(it.gold),
            "r1": rank == 1, "r3": rank is not None, "rr": 1.0 / rank if rank else 0.0,
            "fact_shown": bool(it.fact) and norm(it.fact) in norm(text) and (rank is not None or not ids),
            "not_found": not_found}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="dev", choices=list(SETS) + ["all"])
    ap.add_argument("--rest", help="a running assistant's REST webhook URL")
    ap.add_argument("--show-misses", type=int, default=0)
    args = ap.parse_args(argv)
    result = evaluate(load(args.set), args.rest, args.show_misses)
    result["set"] = args.set
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"retrieval_{args.set}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    a, b = result["assistant"], result["bm25_top3"]
    print(f"{args.set}: {a['answerable']} answerable + {a['unanswerable']} unanswerable questions "
          f"({result['labels_without_gold']} labels matched no clause), {result['mode']}, {result['seconds']} s")
    print(f"{'figure':36}{'assistant':>12}{'BM25 top-3':>12}")
    for k in ("recall@1", "recall@3", "mrr", "first_reply_answers", "first_reply_answers_covered_place",
              "key_fact_shown", "not_found_reported", "answerable_reported_not_found", "limited_to_small_told"):
        fmt = lambda v: "—" if v is None else f"{v:.3f}"
        print(f"{k:36}{fmt(a[k]):>12}{fmt(b[k]):>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
