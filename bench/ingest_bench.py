"""Does adding documents stay linear? Parse and build time for synthetic document sets.

    flock /work/heavy.lock .venv/bin/python -m bench.ingest_bench [--sizes 50,200,1000]

Each set is N documents made from the five seeds (their layouts: clauses closed by "(…牵头)",
1.–32. tasks, items with 牵头单位/责任单位 fields and PDF damage, 一是 points in 繁體 with pinyin,
items under a '|' header), document i a copy of seed i mod 5 with its money figures changed
(so no two texts are the same) and its region taken in turn from the lexicon's districts. For each
N: ``parse_all`` (read + outline + amounts + tags) and ``bot.build.build`` into a fresh SQLite
file, timed separately; reported as seconds, milliseconds per document and the per-document cost
against the smallest set of the same run (1.0 = linear). Writes bench/out/ingest_bench.json.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import yaml

from bot.build import build
from bot.ingest import SEEDS_DIR, load_manifest, parse_all
from bot.lexicon import load_lexicon

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "ingest_bench.json"


def make_set(n: int, dst: Path, seed: int = 12) -> None:
    rnd = random.Random(seed)
    lex = load_lexicon()
    districts = [r.name for r in lex.regions.values() if r.level == "district"]
    entries = load_manifest(SEEDS_DIR)
    texts = [(SEEDS_DIR / e["file"]).read_text(encoding="utf-8") for e in entries]
    docs = []
    dst.mkdir(parents=True)
    for i in range(n):
        j = i % len(entries)
        text = re.sub(r"\d+(?=\s*万元)", lambda m: str(rnd.randint(1, 500)), texts[j])
        name = f"{i:04d}_synthetic{Path(entries[j]['file']).suffix}"
        (dst / name).write_text(text, encoding="utf-8")
        entry = {k: v for k, v in entries[j].items() if k != "contact"}
        entry.update(file=name, region=districts[i % len(districts)] if j != 4 else entries[j]["region"])
        entry.pop("valid_until", None)  # the text's own validity sentence stands
        docs.append(entry)
    (dst / "manifest.yml").write_text(yaml.safe_dump({"documents": docs}, allow_unicode=True), encoding="utf-8")


def run(sizes: List[int]) -> Dict[str, dict]:
    out: Dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        for n in sizes:
            seeds = Path(tmp) / f"set{n}"
            make_set(n, seeds)
            t0 = time.perf_counter()
            docs = parse_all(seeds)
            t1 = time.perf_counter()
            counts = build(f"sqlite:///{Path(tmp) / f'set{n}.db'}", seeds_dir=seeds)
            t2 = time.perf_counter()
            out[str(n)] = {"documents": n, "measures": counts["measures"], "parse_s": round(t1 - t0, 2),
                           "build_s": round(t2 - t1, 2), "parse_ms_per_doc": round(1000 * (t1 - t0) / n, 1),
                           "build_ms_per_doc": round(1000 * (t2 - t1) / n, 1)}
            assert sum(len(d.measures) for d in docs) == counts["measures"]
            shutil.rmtree(seeds)
            print(f"{n:5d} documents {counts['measures']:7d} measures: parse {t1 - t0:7.1f} s, build {t2 - t1:7.1f} s",
                  flush=True)
    base = out[str(sizes[0])]
    for row in out.values():
        row["parse_per_doc_vs_smallest"] = round(row["parse_ms_per_doc"] / base["parse_ms_per_doc"], 2)
        row["build_per_doc_vs_smallest"] = round(row["build_ms_per_doc"] / base["build_ms_per_doc"], 2)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="50,200,1000")
    args = ap.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(","))
    result = run(sizes)
    print(f"{'docs':>6} {'measures':>9} {'parse s':>8} {'ms/doc':>7} {'×':>5} {'build s':>8} {'ms/doc':>7} {'×':>5}")
    for r in result.values():
        print(f"{r['documents']:6d} {r['measures']:9d} {r['parse_s']:8.1f} {r['parse_ms_per_doc']:7.1f} "
              f"{r['parse_per_doc_vs_smallest']:5.2f} {r['build_s']:8.1f} {r['build_ms_per_doc']:7.1f} "
              f"{r['build_per_doc_vs_smallest']:5.2f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
