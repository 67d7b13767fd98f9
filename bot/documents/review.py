"""``python -m bot add FILE``: a new policy document checked, reported on, and only then put live.

Why a command and a report: adding a document used to take a manifest entry with a layout name
found by reading the code, hand edits to the lexicon, a rebuild, a retrain and a restart the
README did not mention, and it could succeed silently wrong (a note read out as a unit, a city
fund shown as "可获得", every unit dropped by a wrong layout, the 12345 fallback gone for a city
with no hotline entry). Here every one of those is a line in the report a person reads before
anything changes:

1. ``add FILE [--region R]`` reads the file, drafts the manifest entry from the text (title,
   issuer, number, date, validity — for a person to confirm, in ``var/review/<key>/entry.yml``),
   builds all documents with it into a temporary database, and prints the review report (also
   ``var/review/<key>/report.html``: each measure beside the source lines it came from). The live
   database, ``seeds/`` and the model are untouched.
2. ``add FILE --accept`` does it again with the entry as the person left it and, if nothing is
   refused, copies the file into ``seeds/``, appends the entry to ``seeds/manifest.yml``, rebuilds
   the live database (the running assistant reconnects to it by itself), regenerates the lexicon
   artifacts and retrains the model only when they changed (``--no-retrain`` tells instead).

A refusal (unreadable, empty, binary, duplicate, no items, unknown region) changes nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from bot.documents.outline import KIND_EXAMPLE
from bot.ingest import SEEDS_DIR, IngestError, ParsedDocument, load_manifest, parse_all, parse_document, read_text
from bot.lexicon import Lexicon, find_terms, load_lexicon

ROOT = Path(__file__).resolve().parents[2]
REVIEW_DIR = ROOT / "var" / "review"
KIND_NAMES = {"benefit": "可获得 (benefit)", "fund": "budget / fund (not what an enterprise gets)",
              "threshold": "threshold (a condition)", "fee": "fee"}


class Refused(Exception):
    """The document cannot be added: the reason names the file, the line or the existing document."""


@dataclass
class Review:
    source: Path
    key: str
    entry: dict
    doc: Optional[ParsedDocument] = None
    errors: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    info: List[str] = field(default_factory=list)
    new_units: List[str] = field(default_factory=list)
    build_counts: Dict[str, int] = field(default_factory=dict)
    review_dir: Path = REVIEW_DIR

    @property
    def accepted_ok(self) -> bool:
        return not self.errors and self.doc is not None

    def pending_dir(self) -> Path:
        return self.review_dir / self.key


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprint_text(text: str) -> str:
    """The same document as a different file (re-saved, other encoding, other format): same characters."""
    return _sha(re.sub(r"[\W_]+", "", text).encode("utf-8"))


def next_key(entries: List[dict]) -> str:
    keys = [int(m.group(1)) for e in entries if (m := re.match(r"(\d+)_", str(e.get("file", ""))))]
    return f"{(max(keys) + 1) if keys else 0:03d}"


def guess_region(lex: Lexicon, *texts: Optional[str]) -> Optional[str]:
    """The most specific region named in the issuer or title ("广州市黄埔区人民政府" → 黄埔区)."""
    best = None
    for text in texts:
        for surface, region in find_terms(text or "", lex.region_terms()):
            if best is None or len(lex.ancestors(region)) > len(lex.ancestors(best)):
                best = region
    return best


def draft_entry(file_name: str, doc_facts, region: Optional[str], overrides: Dict[str, object]) -> dict:
    """The manifest entry as the text states it; what the text does not state stays null."""
    v = doc_facts.validity
    entry = {
        "file": file_name,
        "title": doc_facts.title,
        "issuer": doc_facts.issuer,
        "region": region,
        "doc_number": doc_facts.doc_number,
        "published": doc_facts.published.isoformat() if doc_facts.published else None,
        "valid_until": v.valid_until.isoformat() if v and v.valid_until else None,
        "validity_text": v.sentence if v else "未注明",
        "source_url": None,
        "contact": None,
    }
    if doc_facts.contact:
        entry["contact"] = {"unit": None, "text": doc_facts.contact}
    entry.update({k: v for k, v in overrides.items() if v is not None})
    return entry


def review_file(source: Path, region: Optional[str] = None, seeds_dir: Path = SEEDS_DIR,
                review_dir: Path = REVIEW_DIR, overrides: Optional[Dict[str, object]] = None) -> Review:
    """Everything up to, not including, going live. Raises Refused when there is nothing to review."""
    lex = load_lexicon()
    source = Path(source)
    if not source.is_file():
        raise Refused(f"{source}: " + ("a directory, not a file" if source.is_dir() else "no such file"))
    data = source.read_bytes()
    entries = load_manifest(seeds_dir)
    sha = _sha(data)
    for e in entries:
        existing = seeds_dir / e["file"]
        if existing.is_file() and _sha(existing.read_bytes()) == sha:
            raise Refused(f"{source}: this file is already in as {e['file']} ({e.get('title')}); nothing was changed")
    manifest = str(seeds_dir / "manifest.yml")
    try:
        src, text, cleaners = read_text(source, data, None, manifest, source.name)
    except IngestError as e:
        raise Refused(f"{source}: {e.message}; nothing was changed")
    # the same file reviewed before: same key, and the entry as the person corrected it
    stamp = next((p for p in sorted(review_dir.glob("*/source.sha256")) if p.read_text().strip() == sha), None)
    pending = stamp.parent.name if stamp else None
    key = pending or next_key(entries)
    file_name = f"{key}_{sha[:16]}{source.suffix.lower()}"
    edited = review_dir / key / "entry.yml"
    if pending and edited.is_file():
        entry = yaml.safe_load(edited.read_text(encoding="utf-8")) or {}
        entry["file"] = file_name
        if region:
            entry["region"] = region
    else:
        entry = None

    with tempfile.TemporaryDirectory(prefix="bot-add-") as tmp:
        tmp_seeds = Path(tmp) / "seeds"
        shutil.copytree(seeds_dir, tmp_seeds)
        shutil.copyfile(source, tmp_seeds / file_name)
        if entry is None:
            from bot.documents.outline import Line, build_outline, read_facts
            lines = [Line(i + 1, t) for i, t in enumerate(text.split("\n"))]
            facts = read_facts(build_outline(lines), lines)
            # what the page or the Word file says about itself, where the text does not (<meta
            # name="ArticleTitle">, PubDate, ContentSource; DOCX core properties)
            facts.title = facts.title or src.meta.get("title")
            facts.issuer = facts.issuer or src.meta.get("issuer")
            if not facts.published and src.meta.get("published"):
                m = re.search(r"(\d{4})-(\d{1,2})-(\d{1,2})", src.meta["published"])
                facts.published = dt.date(*map(int, m.groups())) if m else None
            region_guess = lex.canonical_region(region) if region else guess_region(lex, facts.issuer, facts.title)
            entry = draft_entry(file_name, facts, region_guess or region, overrides or {})
            if facts.title is None:
                entry["title_note"] = "原文未印标题：请填写据正文拟写的标题"
        rv = Review(source=source, key=key, entry=entry, review_dir=review_dir)
        _check_entry(rv, lex, region)
        if not rv.errors:
            try:
                rv.doc = parse_document(entry, tmp_seeds, lex)
            except IngestError as e:
                rv.errors.append(e.message)
        if rv.doc is not None:
            existing_units = _compare_with_existing(rv, entries, seeds_dir, lex)
            _check_document(rv, lex, existing_units)
        if rv.accepted_ok:
            manifest_path = tmp_seeds / "manifest.yml"
            _append_entry(manifest_path, entry)
            from bot.build import build
            try:
                rv.build_counts = build(f"sqlite:///{Path(tmp) / 'review.db'}", seeds_dir=tmp_seeds)
            except IngestError as e:
                rv.errors.append(f"the build with this document failed: {e}")
    _write_pending(rv, data, sha, review_dir)
    return rv


def _check_entry(rv: Review, lex: Lexicon, region_arg: Optional[str]) -> None:
    e = rv.entry
    if not e.get("region"):
        rv.errors.append("no region: the text names none the lexicon knows; say which with --region "
                         "(a province, city or district in bot/lexicon.yml)")
    elif not lex.canonical_region(str(e["region"])):
        rv.errors.append(f"region '{e['region']}' is not in bot/lexicon.yml: add it there (name, level, parent, "
                         "and for a city its 12345 hotline) or give a known one with --region")
    if not e.get("title"):
        rv.errors.append("no title found in the text: write one in the entry (and a title_note saying it is ours)")


def _compare_with_existing(rv: Review, entries: List[dict], seeds_dir: Path, lex: Lexicon) -> set:
    """Refuse a duplicate (same document number, or the same text in another file or format);
    return the units the documents already in name for this document's region."""
    number = rv.doc.facts.doc_number or rv.entry.get("doc_number")
    for e in entries:
        if number and e.get("doc_number") == number:
            rv.errors.append(f"document number {number} is already in as {e['file']} ({e.get('title')})")
    mine = _fingerprint_text(rv.doc.text)
    region = lex.canonical_region(str(rv.entry["region"]))
    units: set = set()
    for d in parse_all(seeds_dir, lex):
        if _fingerprint_text(d.text) == mine:
            rv.errors.append(f"the same text is already in as {d.file} ({d.meta.get('title')})")
        if lex.canonical_region(d.meta["region"]) == region:
            units.update(u for m in d.measures for u in m.lead_units + m.responsible_units)
    return units


def _check_document(rv: Review, lex: Lexicon, existing_units: set) -> None:
    d = rv.doc
    region = lex.canonical_region(str(rv.entry["region"]))
    hot = lex.hotline(region)
    if hot is None:
        city = lex.city_of(region) or region
        rv.warnings.append(f"no 12345 hotline on record for {region} or any region above it: answers about this "
                           f"document would carry no hotline fallback. Add hotline: {{number: …, name: …}} to "
                           f"{city} in bot/lexicon.yml (the number as the city publishes it)")
    else:
        rv.info.append(f"hotline fallback for {region}: {hot.hotline_name} {hot.hotline_number} (from {hot.name})")
    known = set(lex.unit_aliases.get(region, {})) | existing_units
    units = _units(d)
    rv.new_units = [u for u in units if u not in known]
    for f in d.findings:
        (rv.warnings if f.level == "warning" else rv.info).append(
            (f"line {f.line}: " if f.line else "") + f.message)
    v = d.facts.validity
    if d.valid_until is None:
        rv.warnings.append("the text states no end of validity: measures will be shown without one. If the document "
                           "has one, put it in the entry as valid_until")
    elif d.valid_until < dt.date.today():
        rv.warnings.append(f"the document expired on {d.valid_until}: its measures will be shown as expired")
    if v and v.valid_until is None:
        rv.warnings.append(f"validity sentence read but no date could be computed: '{v.sentence}'; "
                           "put the date in the entry as valid_until")
    if not any(m.lead_units or m.responsible_units for m in d.measures):
        rv.info.append("the text names no responsible units: answers will give the document's contact or the hotline")
    if not d.facts.issuer and not rv.entry.get("issuer"):
        rv.warnings.append("issuer not found in the text: write it in the entry")
    if not d.facts.published and not rv.entry.get("published"):
        rv.warnings.append("no date of issue found in the text: write it in the entry as published (or leave null)")


def _units(d: ParsedDocument) -> List[str]:
    out: List[str] = []
    for m in d.measures:
        for u in m.lead_units + m.responsible_units:
            if u not in out:
                out.append(u)
    return out


def _append_entry(manifest: Path, entry: dict) -> None:
    """Append as text: the manifest's comments (what each field means) stay as a person wrote them."""
    block = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, default_flow_style=False)
    indented = "\n".join(("  " + ln) if ln else ln for ln in block.rstrip("\n").split("\n"))
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.rstrip("\n") + "\n\n" + indented + "\n", encoding="utf-8")


# ---------------------------------------------------------------- the report
def amounts_by_kind(d: ParsedDocument) -> Dict[str, List[Tuple[str, str]]]:
    out: Dict[str, List[Tuple[str, str]]] = {}
    for m in d.measures:
        for a in m.amounts:
            out.setdefault(a.kind, []).append((m.item_number, a.raw))
    return out


def render_text(rv: Review) -> str:
    out: List[str] = []
    w = out.append
    d = rv.doc
    w(f"Review of {rv.source.name} (as {rv.entry.get('file')})")
    if d is not None:
        items: Dict[str, int] = {}
        for m in d.measures:
            items[m.item_number] = items.get(m.item_number, 0) + 1
        form = ", ".join(f"{n} numbered {KIND_EXAMPLE[k]}" for k, n in d.item_kinds.items())
        w(f"  read as {d.source_format}; repairs: {', '.join(d.cleaners)}")
        w(f"  items: {len(items)} ({form}); measures: {len(d.measures)}; "
          f"government-only (ranked below usable ones): {sum(m.kind == 'government' for m in d.measures)}")
        w("  measures per item: " + ", ".join(f"{k} {n}" for k, n in items.items()))
        units = _units(d)
        w(f"  units ({len(units)}): " + (", ".join(u + (" [new]" if u in rv.new_units else "") for u in units) or "none named"))
        by_kind = amounts_by_kind(d)
        if by_kind:
            w("  amounts:")
            for kind, rows in by_kind.items():
                w(f"    {KIND_NAMES.get(kind, kind)}: " + ", ".join(f"{raw} ({item})" for item, raw in rows))
        else:
            w("  amounts: none")
        v = d.facts.validity
        w(f"  validity as read: {v.sentence if v else '未注明'}" + (f" → valid until {d.valid_until}" if d.valid_until else ""))
    w("")
    w("Draft manifest entry (confirm or correct it in " + str(rv.pending_dir().relative_to(ROOT) if _under_root(rv.pending_dir()) else rv.pending_dir()) + "/entry.yml):")
    for line in yaml.safe_dump(rv.entry, allow_unicode=True, sort_keys=False).rstrip().split("\n"):
        w("    " + line)
    w("")
    for title, rows, mark in (("Refused", rv.errors, "✗"), ("Warnings", rv.warnings, "!"), ("Notes", rv.info, "-")):
        if rows:
            w(f"{title} ({len(rows)}):")
            for r in rows:
                w(f"  {mark} {r}")
    if rv.build_counts:
        w(f"Built with it into a temporary database: {rv.build_counts['documents']} documents, "
          f"{rv.build_counts['measures']} measures, {rv.build_counts['units']} units. Nothing is live yet.")
    return "\n".join(out)


def _under_root(p: Path) -> bool:
    try:
        p.resolve().relative_to(ROOT)
        return True
    except ValueError:
        return False


def render_html(rv: Review) -> str:
    """The report for a person to read: each measure beside the source lines it came from."""
    e = html.escape
    d = rv.doc
    rows = []
    if d is not None:
        starts = sorted({m.line for m in d.measures})
        for m in d.measures:
            later = [s for s in starts if s > m.line]
            end = min(later[0] - 1 if later else m.line + 3, m.line + 12)
            src = [ln for ln in d.lines if m.line <= ln.no <= end and ln.text.strip()]
            units = ", ".join([f"<b>{e(u)}</b> (牵头)" for u in m.lead_units] +
                              [f"{e(u)}{' <mark>new</mark>' if u in rv.new_units else ''}" for u in m.responsible_units])
            amounts = ", ".join(f"{e(a.raw)} <small>{e(KIND_NAMES.get(a.kind, a.kind))}</small>" for a in m.amounts)
            rows.append(
                f"<tr><td><b>{e(m.item_number)}</b> {e(m.item_heading)} <small>({m.clause_no})</small>"
                f"<p>{e(m.text)}</p><p>units: {units or '—'}<br>"
                + "".join(f"<mark>note, not a unit:</mark> {e(n)}<br>" for n in m.notes)
                + f"amounts: {amounts or '—'}<br>"
                f"deadline: {e(m.deadline_text or '—')}; valid until: {m.valid_until or '—'} ({e(m.validity_source)}); "
                f"{'<mark>government-only</mark>' if m.kind == 'government' else 'usable by enterprises'}</p></td>"
                f"<td><pre>{e(chr(10).join(f'{ln.no:4d}  {ln.text}' for ln in src))}</pre></td></tr>")
    text = e(render_text(rv))
    return ("<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>Review: "
            f"{e(str(rv.entry.get('title') or rv.source.name))}</title><style>body{{font-family:sans-serif;margin:2em}}"
            "td{vertical-align:top;border-top:1px solid #ccc;padding:.5em;width:50%}pre{white-space:pre-wrap}"
            "mark{background:#fd6}</style></head><body>"
            f"<h1>Review: {e(str(rv.entry.get('title') or rv.source.name))}</h1><pre>{text}</pre>"
            "<table><tr><th>measure as the assistant will hold it</th><th>source lines</th></tr>"
            + "".join(rows) + "</table></body></html>")


def _write_pending(rv: Review, data: bytes, sha: str, review_dir: Path) -> None:
    d = rv.pending_dir()
    d.mkdir(parents=True, exist_ok=True)
    (d / "source.sha256").write_text(sha + "\n")
    (d / rv.entry["file"]).write_bytes(data)
    (d / "entry.yml").write_text("# Confirm or correct, then run the same command with --accept.\n" +
                                 yaml.safe_dump(rv.entry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (d / "report.txt").write_text(render_text(rv) + "\n", encoding="utf-8")
    (d / "report.html").write_text(render_html(rv), encoding="utf-8")


# ---------------------------------------------------------------- going live
@dataclass
class Accepted:
    file: Path
    counts: Dict[str, int]
    vocabulary_changed: bool
    retrained: bool
    steps: List[str]


def accept(rv: Review, seeds_dir: Path = SEEDS_DIR, database_url: Optional[str] = None,
           retrain: bool = True) -> Accepted:
    """Put a reviewed document live. Only called when the review refused nothing."""
    if not rv.accepted_ok:
        raise Refused("the review refused this document: " + "; ".join(rv.errors))
    from bot.build import build
    target = seeds_dir / rv.entry["file"]
    manifest = seeds_dir / "manifest.yml"
    before = manifest.read_text(encoding="utf-8")
    shutil.copyfile(rv.source, target)
    _append_entry(manifest, rv.entry)
    try:
        counts = build(database_url, seeds_dir=seeds_dir)
    except Exception:
        manifest.write_text(before, encoding="utf-8")  # the build failed: seeds/ as it was
        target.unlink()
        raise
    steps = [f"copied to {target}", f"entry appended to {manifest}",
             f"live database rebuilt: {counts['documents']} documents, {counts['measures']} measures "
             "(a running assistant reconnects to it by itself: no restart for the new measures)"]
    changed, retrained = _refresh_vocabulary(retrain, steps)
    shutil.rmtree(rv.pending_dir(), ignore_errors=True)
    return Accepted(target, counts, changed, retrained, steps)


def _refresh_vocabulary(retrain: bool, steps: List[str]) -> Tuple[bool, bool]:
    """Lexicon artifacts regenerated; the model retrained only when what it is trained from changed."""
    from bot.lexicon_artifacts import generate_all
    from bot.runtime import model
    generate_all()
    stamp = model.STAMP.read_text().strip() if model.STAMP.exists() else None
    changed = stamp != model.fingerprint()
    steps.append("lexicon artifacts regenerated (bot/nlu/dictionary, data/generated)")
    if not changed:
        steps.append("vocabulary unchanged: the model is not retrained, nothing to restart")
        return False, False
    if not retrain:
        steps.append("vocabulary changed: retrain with `python -m bot.runtime.model` (about 4 minutes), then restart "
                     "the assistant (`make run`) so that it loads the new model")
        return True, False
    model.ensure_model()
    steps.append("vocabulary changed: model retrained; restart the assistant (`make run`) to load it")
    return True, True
