"""Answer quality on the labelled questions, as bench/retrieval_eval.py measures it.

The floors sit a little under the figures measured when they were set (README, issue 9's
closing note): a change that makes the first reply worse on questions people really ask
fails here, whatever unit tests it passes. The held-out set is measured, never tuned on.
"""
from __future__ import annotations

import pytest

from bench.retrieval_eval import evaluate, load

pytestmark = pytest.mark.slow

#: set: (recall@3, MRR, key fact shown, not found reported) floors; measured 2026-12-03: dev 0.968,
#: 0.925, 0.940, 0.830; held-out 0.960, 0.912, 0.915, 0.906
FLOORS = {"dev": (0.94, 0.89, 0.92, 0.80), "heldout": (0.93, 0.88, 0.89, 0.87)}
#: set: ceiling on the answerable questions whose first reply says "没有关于…" (measured 0.109 on the
#: dev set of 1052 with batches 3–6 folded in, typed the way agents and WeChat users type / 0.151)
TOLD_NOT_FOUND = {"dev": 0.13, "heldout": 0.18}


@pytest.fixture(autouse=True)
def measures_db(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)


@pytest.mark.parametrize("name", ["dev", "heldout"])
def test_first_reply_answers_the_labelled_questions(name):
    result = evaluate(load(name))
    ours, bm25 = result["assistant"], result["bm25_top3"]
    assert result["labels_without_gold"] <= 10, "labels must still point at clauses after a rebuild"
    recall, mrr, fact, not_found = FLOORS[name]
    assert ours["recall@3"] >= recall and ours["mrr"] >= mrr
    assert ours["key_fact_shown"] >= fact and ours["not_found_reported"] >= not_found
    assert ours["answerable_reported_not_found"] <= TOLD_NOT_FOUND[name]
    # the dialogue adds to what a search box gives, it does not subtract from it
    assert ours["recall@3"] > bm25["recall@3"] and ours["mrr"] > bm25["mrr"]
    assert ours["not_found_reported"] > bm25["not_found_reported"]
    assert ours["key_fact_shown"] > bm25["key_fact_shown"]
