"""12345 work orders from the console: the caller's need, the measures told, where to
transfer, as a JSON record or a one-row CSV (UTF-8 with BOM for Excel).

Every field restates a result, the lexicon's hotline or what the agent typed.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, Dict, Optional, Sequence

from sqlalchemy.orm import sessionmaker

from bot.answer import amounts_phrase, cn_date, handoff_summary, profile_line, shorten, units_sentence, validity_sentence
from bot.assist.caller_profile import hotline_for, hotline_words, merge, profile_of
from bot.assist.inputs import csv_cell
from bot.lexicon import load_lexicon
from bot.query import MeasureResult, covered_regions, get_measure


def _one_line(units: str) -> str:
    return units.replace("\n   ", "；")


def _contact_fields(u: dict) -> dict:
    return {"name": u["name"], "full_name": u.get("full_name"), "region": u.get("region"),
            "phone": u.get("phone"), "address": u.get("address"), "website": u.get("website"),
            "contact_source": u.get("source")}


def default_transfer(results: Sequence[MeasureResult], hot: Optional[dict]) -> dict:
    """The first measure's first lead unit (a named office, not "各镇街"), else the office its
    document names for contact, else the hotline."""
    if results:
        r = results[0]
        leads = [u for u in r.contacts if u["role"] == "lead" and not u.get("generic")]
        if leads:
            return {**_contact_fields(leads[0]), "basis": "lead_unit",
                    "basis_text": f"第1条措施的牵头单位（{r.citation}）"}
        if r.document_contact:
            return {**_contact_fields(r.document_contact), "basis": "document_contact",
                    "basis_text": f"原文未写明牵头单位；文件指明的联系部门（{r.document}）"}
    if hot:
        return {"name": hot["name"], "full_name": None, "region": hot.get("region"), "phone": hot["number"],
                "address": None, "website": None, "contact_source": "lexicon", "basis": "hotline",
                "basis_text": "原文未写明牵头单位或联系部门，转12345热线"}
    return {"name": "12345政务服务便民热线", "full_name": None, "region": None, "phone": "12345", "address": None,
            "website": None, "contact_source": None, "basis": "hotline", "basis_text": "未确定地区，转12345热线"}


def workorder(factory: sessionmaker, *, text: str, given: Dict[str, Any], caller_need: Optional[str],
              measure_ids: Sequence[int], transfer_unit: Optional[str] = None,
              as_of: Optional[dt.date] = None, now: Optional[dt.datetime] = None) -> dict:
    lex = load_lexicon()
    as_of = as_of or dt.date.today()
    now = now or dt.datetime.now().astimezone()
    values, sources, _ = merge(text, given)
    p = profile_of(values, lex)
    with factory() as s:
        covered = covered_regions(s)
        found = {i: get_measure(s, i, p, as_of) for i in measure_ids}
    shown = [r for r in found.values() if r is not None]
    missing = [i for i, r in found.items() if r is None]
    hot = hotline_for(p, shown, lex)
    need = caller_need or (shorten(text, 80) if text else "未说明")
    if transfer_unit:
        transfer = {"name": transfer_unit, "full_name": None, "region": p.district, "phone": None, "address": None,
                    "website": None, "contact_source": None, "basis": "agent", "basis_text": "坐席指定"}
    else:
        transfer = default_transfer(shown, hot)
    items = [{
        "id": r.id, "citation": r.citation, "document": r.document, "doc_number": r.doc_number, "issuer": r.issuer,
        "region": r.region, "item_heading": r.item_heading, "text": shorten(r.text, 80),
        "amounts": amounts_phrase(r), "valid_until": r.valid_until, "expired": r.expired,
        "validity": validity_sentence(r, as_of), "lead_units": r.lead_units, "responsible_units": r.responsible_units,
        "units": _one_line(units_sentence(r)),
    } for r in shown]
    summary = handoff_summary(p, need, shown, None) + f"建议转办：{transfer['name']}（{transfer['basis_text']}）。"
    return {
        "kind": "12345工单",
        "created_at": now.isoformat(timespec="seconds"),
        "as_of": as_of.isoformat(),
        "caller_need": need,
        "caller_text": text,
        "region": {"district": p.district, "as_given": values.get("district"),
                   "city": lex.city_of(p.district) if p.district else None,
                   "covered": lex.is_covered(p.district, covered) if p.district else None},
        "enterprise": {"industry": p.industry, "sizes": list(p.sizes), "topic": p.topic, "unknown": p.unknown,
                       "profile_line": profile_line(p)},
        "slot_sources": sources,
        "measures": items,
        "measure_ids_not_found": missing,
        "transfer": transfer,
        "hotline": hot,
        "summary": summary,
    }


CSV_COLUMNS = (
    ("工单类型", lambda w: w["kind"]),
    ("生成时间", lambda w: w["created_at"]),
    ("查询基准日", lambda w: cn_date(w["as_of"])),
    ("来电诉求", lambda w: w["caller_need"]),
    ("来电原话", lambda w: w["caller_text"]),
    ("所在地区", lambda w: w["region"]["district"] or w["region"]["as_given"] or "未说明"),
    ("所属城市", lambda w: w["region"]["city"] or ""),
    ("行业", lambda w: w["enterprise"]["industry"] or ""),
    ("企业规模", lambda w: "、".join(w["enterprise"]["sizes"])),
    ("关注事项", lambda w: w["enterprise"]["topic"] or ""),
    ("未识别信息", lambda w: "；".join(f"{k}：{v}" for k, v in w["enterprise"]["unknown"].items())),
    ("已告知措施（出处）", lambda w: _numbered(m["citation"] for m in w["measures"])),
    ("措施内容", lambda w: _numbered(m["text"] for m in w["measures"])),
    ("有效期", lambda w: _numbered(m["validity"] for m in w["measures"])),
    ("牵头/责任单位", lambda w: _numbered(m["units"] for m in w["measures"])),
    ("转办单位", lambda w: w["transfer"]["name"]),
    ("转办依据", lambda w: w["transfer"]["basis_text"]),
    ("转办单位电话", lambda w: w["transfer"]["phone"] or ""),
    ("热线", lambda w: hotline_words(w["hotline"]) if w["hotline"] else ""),
    ("工单摘要", lambda w: w["summary"]),
)


def _numbered(xs) -> str:
    return "\n".join(f"{i}. {x}" for i, x in enumerate(xs, 1))


def workorder_csv(record: dict) -> bytes:
    """Header row + one row; UTF-8 with BOM so Excel (zh-CN) opens it without mojibake."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([name for name, _ in CSV_COLUMNS])
    w.writerow([csv_cell(get(record)) for _, get in CSV_COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")

