"""The rules NLU training data must keep, checked before a model is trained, and the file
the review page adds examples to.

Why: Rasa only *logs* three faults that quietly cost accuracy, and a trainer never reads
training logs. So ``python -m bot nlu-report`` (``bot/nlu_report.py``) and the review page
(``bot/assist/review_api.py``) refuse them, with the file, the example and what to change:

* **misaligned entity annotations** — an entity that starts or ends inside a jieba token
  (the tokenizer the model is trained with: jieba plus ``bot/nlu/dictionary``, after
  ``bot.nlu.normalizer``). Rasa warns and trains the entity on the wrong tokens.
* **conflicting synonyms** — one surface form mapped to two values (``synonym:`` blocks,
  ``[x]{"entity": …, "value": …}`` annotations). Rasa's synonym mapper keeps one of them,
  lower-cased and across entity types, and logs it.
* **values outside the lexicon** — a ``district``/``size``/``industry``/``topic`` annotation
  whose value is not a name or alias in ``bot/lexicon.yml`` (the lexicon's own rules,
  ``bot/lexicon.py``): the assistant could recognise it but never look it up.
* and a training example that is also in the held-out set ``tests/nlu_test.yml``
  (the report would then measure memory, not understanding).

Cost on this project (2 cores, the other one busy): all of ``data/`` (~1,500 examples) checks
in 5.6 s, most of it importing Rasa's example parser and building jieba's two tokenizers.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
HELD_OUT = ROOT / "tests" / "nlu_test.yml"
DICTIONARY_DIR = ROOT / "bot" / "nlu" / "dictionary"
#: where the review page writes, unless ``$REVIEW_DATA_PATH`` says otherwise (a file of its own
#: under data/: `rasa train` and bot.runtime.model's fingerprint both read all of data/)
REVIEWED_PATH = DATA_DIR / "nlu_reviewed.yml"
REVIEWED_ENV = "REVIEW_DATA_PATH"
#: entity types whose values are names or aliases in bot/lexicon.yml
LEXICON_ENTITIES = ("district", "size", "industry", "topic")


@dataclass(frozen=True)
class Problem:
    kind: str      # "misaligned" | "synonym" | "lexicon" | "held_out" | "format"
    file: str
    example: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.example!r}: {self.detail}"


@dataclass(frozen=True)
class Example:
    intent: str
    raw: str                   # as written, with annotations
    text: str                  # plain text
    entities: Tuple[dict, ...]  # {"start", "end", "value", "entity"}
    file: str


# ---- reading ------------------------------------------------------------------------

def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def data_files(paths: Sequence[Path] = (DATA_DIR,)) -> List[Path]:
    out: List[Path] = []
    for p in paths:
        p = Path(p)
        out.extend(sorted(f for f in p.rglob("*") if f.suffix in (".yml", ".yaml"))) if p.is_dir() else out.append(p)
    return out


def _lines(block: str) -> List[str]:
    return [l.strip()[2:].strip() for l in (block or "").splitlines() if l.strip().startswith("- ")]


def parse_example(raw: str) -> Tuple[str, List[dict]]:
    """Rasa's own parser: the plain text and the entities of ``[surface](entity)`` markup."""
    from rasa.shared.nlu.training_data import entities_parser
    return entities_parser.replace_entities(raw), entities_parser.find_entities_in_training_example(raw)


def read_nlu(path: Path) -> Tuple[List[Example], List[Tuple[str, str]], List[Problem]]:
    """Examples and (surface, value) synonym pairs of one Rasa YAML file."""
    examples: List[Example] = []
    synonyms: List[Tuple[str, str]] = []
    name = _rel(path)
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        return [], [], [Problem("format", name, "", f"cannot read it as YAML: {exc}")]
    blocks = (doc.get("nlu") or []) if isinstance(doc, dict) else []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        if "intent" in block:
            for raw in _lines(block.get("examples")):
                try:
                    text, ents = parse_example(raw)
                except Exception as exc:  # Rasa raises on malformed {"entity": …} dicts
                    return examples, synonyms, [Problem("format", name, raw, str(exc))]
                examples.append(Example(str(block["intent"]), raw, text, tuple(ents), name))
                synonyms.extend((text[e["start"]:e["end"]], str(e["value"])) for e in ents
                                if str(e["value"]) != text[e["start"]:e["end"]])
        elif "synonym" in block:
            synonyms.extend((s, str(block["synonym"])) for s in _lines(block.get("examples")))
    return examples, synonyms, []


# ---- the rules ----------------------------------------------------------------------

@functools.lru_cache(maxsize=2)
def _jieba(loads: int = 1):
    """A private jieba with the model's user dictionary loaded ``loads`` times.

    Why twice: ``rasa train`` (3.6) loads the dictionary when the tokenizer is created and
    again from the model storage it has just persisted to. Each load adds every word's
    frequency to jieba's total again, which shifts word probabilities: with two loads
    "担保费有补助吗" is cut 担保费/有/补助/吗 while training, with one (a loaded model) 担保/费有/补助/吗.
    An annotation must sit on token boundaries under both cuts."""
    import logging

    import jieba
    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    tk.initialize()
    for _ in range(loads):
        for f in sorted(DICTIONARY_DIR.glob("*")):
            if f.is_file():
                tk.load_userdict(str(f))
    return tk


#: (what it is, how many dictionary loads): the cuts of training and of a loaded model
CUTS = (("training", 2), ("prediction", 1))


def tokens(text: str, loads: int = 1) -> List[Tuple[str, int, int]]:
    """(word, start, end) as the model's tokenizer cuts the (normalised) text."""
    from bot.nlu.normalizer import normalize_same_length
    return list(_jieba(loads).tokenize(normalize_same_length(text)))


def misaligned(text: str, entities: Iterable[dict]) -> List[str]:
    """For each entity that does not start and end on token boundaries, how the text is cut."""
    entities = list(entities)
    out = []
    for when, loads in CUTS:
        toks = tokens(text, loads)
        starts, ends = {s for _, s, _ in toks}, {e for _, _, e in toks}
        for e in entities:
            if e["start"] not in starts or e["end"] not in ends:
                cut = "/".join(w for w, s, t in toks if t > e["start"] and s < e["end"])
                out.append(f"[{text[e['start']:e['end']]}]({e['entity']}) does not fall on jieba token boundaries "
                           f"in {when} (cut as {cut}); mark the whole token or rephrase")
        if out:
            break
    return out


def off_lexicon(entities: Iterable[dict]) -> List[str]:
    """Lexicon-backed annotations whose value the lexicon does not know, by bot/lexicon.py's rules."""
    from bot.lexicon import load_lexicon
    lex = load_lexicon()
    known = {"district": lex.canonical_region, "size": lex.expand_size,
             "industry": lex.canonical_industry, "topic": lex.canonical_topic}
    out = []
    for e in entities:
        check = known.get(e["entity"])
        if check is not None and not check(str(e["value"])):
            out.append(f"{e['entity']} value {e['value']!r} is not a name or alias in bot/lexicon.yml "
                       f"(add it there as an alias and run `python -m bot lexicon`, or fix the annotation)")
    return out


def synonym_conflicts(pairs: Iterable[Tuple[str, str, str]]) -> List[Problem]:
    """(surface, value, file) → one Problem per surface mapped to more than one value
    (lower-cased and across entity types, as Rasa's EntitySynonymMapper keys them)."""
    seen: Dict[str, Dict[str, str]] = {}
    for surface, value, file in pairs:
        seen.setdefault(surface.lower(), {}).setdefault(value, file)
    out = []
    for surface, values in sorted(seen.items()):
        if len(values) > 1:
            where = "; ".join(f"{v!r} ({f})" for v, f in values.items())
            out.append(Problem("synonym", ", ".join(sorted(set(values.values()))), surface,
                               f"synonym {surface!r} maps to more than one value: {where}"))
    return out


@functools.lru_cache(maxsize=1)
def held_out_texts() -> frozenset:
    if not HELD_OUT.exists():
        return frozenset()
    examples, _, _ = read_nlu(HELD_OUT)
    return frozenset(e.text.strip() for e in examples)


def check(paths: Sequence[Path] = (DATA_DIR,)) -> List[Problem]:
    """Every problem in the training data under ``paths`` (files or directories)."""
    problems: List[Problem] = []
    pairs: List[Tuple[str, str, str]] = []
    held = held_out_texts()
    for f in data_files(paths):
        examples, synonyms, bad = read_nlu(f)
        problems.extend(bad)
        pairs.extend((s, v, _rel(f)) for s, v in synonyms)
        for ex in examples:
            problems.extend(Problem("misaligned", ex.file, ex.raw, d) for d in misaligned(ex.text, ex.entities))
            problems.extend(Problem("lexicon", ex.file, ex.raw, d) for d in off_lexicon(ex.entities))
            if ex.text.strip() in held:
                problems.append(Problem("held_out", ex.file, ex.raw,
                                        "this sentence is in the held-out set tests/nlu_test.yml; never train on it"))
    problems.extend(synonym_conflicts(pairs))
    return problems


def training_examples(paths: Sequence[Path] = (DATA_DIR,)) -> Dict[str, Example]:
    """Plain text → its example, over the training data (the review page refuses duplicates)."""
    out: Dict[str, Example] = {}
    for f in data_files(paths):
        for ex in read_nlu(f)[0]:
            out.setdefault(ex.text.strip(), ex)
    return out


# ---- writing (the review page) -------------------------------------------------------

def text_key(text: str) -> str:
    """A message's identity on the review page: the same sentence from many conversations is one row."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:20]


def annotate(text: str, entities: Sequence[dict]) -> str:
    """``我在[增城](district)开店``: the inline markup data/README.md asks for (no value dicts)."""
    out, at = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        out.append(text[at:e["start"]])
        out.append(f"[{text[e['start']:e['end']]}]({e['entity']})")
        at = e["end"]
    out.append(text[at:])
    return "".join(out)


def reviewed_path(path: Optional[os.PathLike] = None) -> Path:
    return Path(path or os.environ.get(REVIEWED_ENV) or REVIEWED_PATH)


HEADER = """\
# Examples a trainer added on the assist console's review page (/review), from messages of real
# conversations the model misread. Written by bot/trainingdata.py; edit it like data/nlu.yml
# (data/README.md), review it with `git diff`, then `make nlu-report` (checks, retrains, reports).
"""

_WRITE_LOCK = threading.Lock()


def _render(blocks: Dict[str, List[str]]) -> str:
    out = [HEADER, 'version: "3.1"\n', "nlu:\n"]
    for intent, lines in blocks.items():
        out.append(f"- intent: {intent}\n  examples: |\n")
        out.extend(f"    - {l}\n" for l in lines)
    return "".join(out)


def add_example(path: Path, intent: str, line: str) -> None:
    """Append one example under its intent, rewriting the file atomically (same order, so a
    diff shows only the new line). Threads in this process wait for each other."""
    with _WRITE_LOCK:
        blocks: Dict[str, List[str]] = {}
        if path.exists():
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for block in doc.get("nlu") or []:
                if isinstance(block, dict) and "intent" in block:
                    blocks.setdefault(str(block["intent"]), []).extend(_lines(block.get("examples")))
        lines = blocks.setdefault(intent, [])
        if line not in lines:
            lines.append(line)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".nlu_reviewed.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(_render(blocks))
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


_MARKUP = re.compile(r"[\[\]{}]")


def example_problems(text: str, entities: Sequence[dict]) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """The line to write for ``text`` with ``entities`` (None: it cannot be written as Rasa markup)
    and what ``check`` would refuse in it, as (kind, detail)."""
    if "\n" in text or "\r" in text:
        return None, []
    line = annotate(text, entities)
    try:
        plain, parsed = parse_example(line)
    except Exception:
        plain, parsed = None, []
    same = plain == text and [(e["start"], e["end"], e["entity"]) for e in parsed] == \
        [(e["start"], e["end"], e["entity"]) for e in sorted(entities, key=lambda e: e["start"])]
    if not same or (not entities and _MARKUP.search(text)):
        return None, []
    values = [dict(e, value=text[e["start"]:e["end"]]) for e in entities]
    return line, [("lexicon", d) for d in off_lexicon(values)] + [("misaligned", d) for d in misaligned(text, entities)]
