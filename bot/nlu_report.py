"""``python -m bot nlu-report`` (``make nlu-report``): check the training data, train if needed,
test on the held-out set and write a report a trainer reads in a browser.

1. The training data under ``data/`` (and any ``--data`` file about to be added) must pass
   ``bot/trainingdata.py``'s checks — misaligned entity annotations, conflicting synonyms,
   annotation values outside ``bot/lexicon.yml``, held-out sentences in training — or the
   command stops with exit 2 and every problem listed. Rasa itself only logs them.
2. ``bot.runtime.model.ensure_model()``: trains only when an input changed.
3. Rasa's own evaluation (``rasa.nlu.test.run_evaluation``, what ``rasa test nlu`` runs), in
   this process, on ``tests/nlu_test.yml`` — evaluated on, never trained or tuned on.
4. ``var/nlu-report/index.html``: per-intent and per-entity precision / recall / F1, the
   confusion matrices (Rasa's PNGs), the misread held-out messages, and the change against
   the previous report (``summary.json`` of the last run is kept as ``previous.json``).

Measured on 2 cores (the other core busy): checks 5.6 s, evaluation 38 s (most of it loading
TensorFlow and the model), ~45 s in all when nothing changed; a data change adds the training,
82 s.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import html
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from bot import trainingdata

ROOT = trainingdata.ROOT
DEFAULT_OUT = ROOT / "var" / "nlu-report"
#: a change smaller than this is noise, not "better" or "worse"
CHANGE = 0.005
KINDS = {"misaligned": "entity annotations not on jieba token boundaries",
         "synonym": "conflicting synonyms",
         "lexicon": "entity values that are not a name or alias in bot/lexicon.yml",
         "held_out": "held-out sentences in the training data",
         "format": "files that cannot be read"}


class ReportError(SystemExit):
    pass


def check_or_fail(extra: Sequence[Path] = ()) -> None:
    problems = trainingdata.check([trainingdata.DATA_DIR, *extra])
    if not problems:
        return
    lines = [f"nlu-report: the training data has {len(problems)} problem(s) Rasa would only log; fix them first:"]
    for kind, title in KINDS.items():
        mine = [p for p in problems if p.kind == kind]
        if mine:
            lines.append(f"\n{title} ({len(mine)}):")
            lines.extend(f"  {p}" for p in mine)
    print("\n".join(lines), file=sys.stderr, flush=True)
    raise ReportError(2)


async def _evaluate(model: Path, out: Path) -> None:
    import logging

    from rasa.core.agent import Agent
    from rasa.nlu.test import run_evaluation
    from rasa.utils.log_utils import configure_structlog
    configure_structlog(logging.WARNING)  # not one debug line per held-out entity on the terminal
    logging.getLogger("rasa").setLevel(logging.WARNING)
    agent = Agent.load(str(model))
    await run_evaluation(str(trainingdata.HELD_OUT), agent.processor, output_directory=str(out), errors=True,
                         successes=False, disable_plotting=False, report_as_dict=True,
                         domain_path=str(ROOT / "domain.yml"))


def _scores(report: dict) -> Dict[str, dict]:
    return {k: {"precision": v["precision"], "recall": v["recall"], "f1": v["f1-score"], "support": v["support"]}
            for k, v in report.items() if isinstance(v, dict) and "f1-score" in v
            and k not in ("micro avg", "macro avg", "weighted avg")}


def summarise(raw: Path) -> dict:
    intents = json.loads((raw / "intent_report.json").read_text())
    out = {"at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
           "held_out": str(trainingdata.HELD_OUT.relative_to(ROOT)),
           "intent_accuracy": intents.get("accuracy"),
           "intent_macro_f1": intents["macro avg"]["f1-score"],
           "intents": _scores(intents), "entities": {}}
    for f in sorted(raw.glob("*_report.json")):
        name = f.name[:-len("_report.json")]
        if name in ("intent", "response_selection"):
            continue
        out["entities"][name] = _scores(json.loads(f.read_text()))
    return out


def changes(now: dict, before: Optional[dict]) -> Dict[str, List[tuple]]:
    """(name, f1 before, f1 now) of intents and entities that got better or worse."""
    better, worse = [], []
    if before:
        pairs = [(f"intent {k}", (before["intents"].get(k) or {}).get("f1"), v["f1"]) for k, v in now["intents"].items()]
        for ex, ents in now["entities"].items():
            old = before.get("entities", {}).get(ex, {})
            pairs += [(f"{ex} {k}", (old.get(k) or {}).get("f1"), v["f1"]) for k, v in ents.items()]
        for name, a, b in pairs:
            if a is None:
                continue
            if b - a > CHANGE:
                better.append((name, a, b))
            elif a - b > CHANGE:
                worse.append((name, a, b))
    return {"better": better, "worse": worse}


# ---- HTML ----------------------------------------------------------------------------------

def _e(x) -> str:
    return html.escape(str(x))


def _f(x: Optional[float]) -> str:
    return "—" if x is None else f"{x:.3f}"


def _delta(now: float, before: Optional[float]) -> str:
    if before is None:
        return "<td></td>"
    d = now - before
    cls = "up" if d > CHANGE else "down" if d < -CHANGE else ""
    return f'<td class="{cls}">{d:+.3f}</td>'


def _table(scores: Dict[str, dict], before: Dict[str, dict]) -> str:
    rows = []
    for name, s in sorted(scores.items(), key=lambda kv: kv[1]["f1"]):
        old = (before.get(name) or {}).get("f1")
        rows.append(f"<tr><th>{_e(name)}</th><td>{_f(s['precision'])}</td><td>{_f(s['recall'])}</td>"
                    f"<td><b>{_f(s['f1'])}</b></td>{_delta(s['f1'], old)}<td>{s['support']}</td></tr>")
    return ("<table><tr><th></th><th>precision</th><th>recall</th><th>F1</th><th>vs previous</th><th>n</th></tr>"
            + "".join(rows) + "</table>")


def _annotated(text: str, entities: List[dict]) -> str:
    return _e(trainingdata.annotate(text, [e for e in entities if "start" in e and "end" in e]))


def render(summary: dict, before: Optional[dict], raw: Path, out: Path) -> str:
    ch = changes(summary, before)
    parts = [f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>NLU report · 政策助手</title>
<style>body{{font:15px/1.5 system-ui,"Noto Sans CJK SC",sans-serif;max-width:1100px;margin:1em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccd;padding:2px 8px;text-align:right}}
th:first-child{{text-align:left}}.up{{color:#1a7f37}}.down{{color:#b42318;font-weight:600}}
img{{max-width:100%;border:1px solid #ccd}}code{{background:#f4f6f8}}</style></head><body>
<h1>NLU report</h1>
<p>{_e(summary['at'])} · held-out set <code>{_e(summary['held_out'])}</code> (never trained on) ·
intent accuracy <b>{_f(summary['intent_accuracy'])}</b> · intent macro F1 <b>{_f(summary['intent_macro_f1'])}</b>
{"· previous report " + _e(before['at']) + f" (macro F1 {_f(before['intent_macro_f1'])})" if before else "· no previous report"}</p>
<h2>Change against the previous report</h2>"""]
    if not before:
        parts.append("<p>First report: nothing to compare with yet.</p>")
    else:
        for label, rows in (("Better", ch["better"]), ("Worse", ch["worse"])):
            items = "".join(f"<li>{_e(n)}: {_f(a)} → {_f(b)}</li>" for n, a, b in rows) or "<li>none</li>"
            parts.append(f"<h3>{label}</h3><ul>{items}</ul>")
    parts.append("<h2>Intents</h2>" + _table(summary["intents"], (before or {}).get("intents", {})))
    for ex, scores in summary["entities"].items():
        parts.append(f"<h2>Entities ({_e(ex)})</h2>"
                     + _table(scores, ((before or {}).get("entities") or {}).get(ex, {})))
    for png, title in [("intent_confusion_matrix.png", "Intent confusion matrix")] + [
            (f"{ex}_confusion_matrix.png", f"Entity confusion matrix ({ex})") for ex in summary["entities"]]:
        if (raw / png).exists():
            parts.append(f'<h2>{_e(title)}</h2><img src="rasa/{_e(png)}" alt="{_e(title)}">')
    errors = raw / "intent_errors.json"
    items = json.loads(errors.read_text()) if errors.exists() else []
    parts.append(f"<h2>Misread held-out messages: intent ({len(items)})</h2><table>"
                 "<tr><th>message</th><th>expected</th><th>predicted</th><th>confidence</th></tr>")
    for x in sorted(items, key=lambda x: x["intent"]):
        pred = x.get("intent_prediction") or {}
        parts.append(f"<tr><th>{_e(x['text'])}</th><td>{_e(x['intent'])}</td><td>{_e(pred.get('name'))}</td>"
                     f"<td>{_f(pred.get('confidence'))}</td></tr>")
    parts.append("</table>")
    for ex in summary["entities"]:
        f = raw / f"{ex}_errors.json"
        items = json.loads(f.read_text()) if f.exists() else []
        parts.append(f"<h2>Misread held-out messages: entities, {_e(ex)} ({len(items)})</h2><table>"
                     "<tr><th>expected</th><th>predicted</th></tr>")
        for x in items:
            parts.append(f"<tr><th>{_annotated(x['text'], x.get('entities') or [])}</th>"
                         f"<td>{_annotated(x['text'], x.get('predicted_entities') or [])}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)


def run(out: Path = DEFAULT_OUT, extra: Sequence[Path] = ()) -> Path:
    t0 = time.perf_counter()
    check_or_fail(extra)
    t1 = time.perf_counter()
    from bot.runtime.model import ensure_model
    model = ensure_model()
    t2 = time.perf_counter()
    os.environ.setdefault("MPLBACKEND", "Agg")  # no display: Rasa's confusion matrices as PNG files
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "rasa"
    if raw.exists():
        shutil.rmtree(raw)
    asyncio.run(_evaluate(model, raw))
    summary = summarise(raw)
    t3 = time.perf_counter()
    summary["seconds"] = {"checks": round(t1 - t0, 1), "train": round(t2 - t1, 1), "evaluate": round(t3 - t2, 1)}
    current = out / "summary.json"
    before = json.loads(current.read_text()) if current.exists() else None
    if before:
        shutil.copyfile(current, out / "previous.json")
    current.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "index.html").write_text(render(summary, before, raw, out), encoding="utf-8")
    ch = changes(summary, before)
    print(f"intent macro F1 {summary['intent_macro_f1']:.3f}"
          + (f" (was {before['intent_macro_f1']:.3f})" if before else "")
          + (f"; better: {', '.join(n for n, _, _ in ch['better'])}" if ch["better"] else "")
          + (f"; worse: {', '.join(n for n, _, _ in ch['worse'])}" if ch["worse"] else ""))
    print(f"checks {summary['seconds']['checks']} s, train {summary['seconds']['train']} s, "
          f"evaluate {summary['seconds']['evaluate']} s")
    print(f"report: {out / 'index.html'}")
    return out / "index.html"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bot nlu-report", description=__doc__.splitlines()[0])
    add_arguments(ap)
    return command(ap.parse_args(argv))


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="report directory (default var/nlu-report)")
    ap.add_argument("--data", action="append", default=[],
                    help="also check this training-data file or directory (e.g. one about to be added)")
    ap.add_argument("--check-only", action="store_true", help="only check the training data (no training)")


def command(args) -> int:
    extra = [Path(p) for p in args.data]
    try:
        if args.check_only:
            check_or_fail(extra)
            print("training data: no problems")
            return 0
        run(Path(args.out), extra)
    except ReportError as exc:
        return int(exc.code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
