"""The 12345 agents' assist console (bot/assist): auth, slots, measures, script, work orders, bad input."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import statistics
import time
from pathlib import Path

import pytest

from bot.assist import app as assist_app
from bot.assist import caller_profile, measures as assist_measures
from bot.assist.app import create_app
from tests.conftest import AS_OF

TOKEN = "test-token-不要用于生产"[:10] + "x7Qp"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STATIC = Path(assist_app.__file__).with_name("static")


@pytest.fixture
async def client(aiohttp_client, db_url):
    return await aiohttp_client(create_app(database_url=db_url, token=TOKEN))


async def post(client, path, body, **kw):
    headers = {**AUTH, **kw.pop("headers", {})}
    return await client.post(path, json=body, headers=headers, **kw)


async def measures(client, **body):
    body.setdefault("as_of", AS_OF.isoformat())
    resp = await post(client, "/api/measures", body)
    assert resp.status == 200, await resp.text()
    return await resp.json()


# ---- token ----------------------------------------------------------------------

@pytest.mark.parametrize("headers, query", [
    ({}, ""),
    ({"Authorization": "Bearer wrong"}, ""),
    ({"Authorization": f"Basic {TOKEN}"}, ""),
    ({"Authorization": "Bearer"}, ""),
    ({"Authorization": "Bearer 令牌".encode("utf-8").decode("latin-1")}, ""),
    ({}, "?token=wrong"),
])
async def test_api_needs_the_token(client, headers, query):
    for method, path in (("POST", "/api/understand"), ("POST", "/api/measures"), ("POST", "/api/workorder"),
                         ("GET", "/api/workorder.csv"), ("GET", "/api/vocabulary")):
        resp = await client.request(method, path + query, headers=headers, data=b'{"text": "x"}')
        assert resp.status == 401, (method, path)
        assert resp.content_type == "application/json"
        assert "令牌" in (await resp.json())["error"]
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_token_as_header_or_query(client):
    assert (await client.get("/api/vocabulary", headers=AUTH)).status == 200
    assert (await client.get(f"/api/vocabulary?token={TOKEN}")).status == 200


async def test_access_log_leaves_out_the_query_string(client, caplog):
    import logging

    from aiohttp.test_utils import make_mocked_request
    logger = assist_app.PathOnlyAccessLogger(logging.getLogger("test.access"), "")
    req = make_mocked_request("GET", f"/api/workorder.csv?token={TOKEN}&text=x")
    with caplog.at_level(logging.INFO, logger="test.access"):
        logger.log(req, (await client.get("/healthz")), 0.01)
    assert "/api/workorder.csv" in caplog.text and TOKEN not in caplog.text


def test_without_a_configured_token_a_random_one_is_generated_and_printed(db_url, monkeypatch, capsys):
    monkeypatch.delenv("ASSIST_TOKEN", raising=False)
    a = create_app(database_url=db_url)
    b = create_app(database_url=db_url)
    ta, tb = a[assist_app.TOKEN_KEY], b[assist_app.TOKEN_KEY]
    assert ta != tb and len(ta) >= 24
    out = capsys.readouterr().out
    assert ta in out and tb in out
    monkeypatch.setenv("ASSIST_TOKEN", "from-env")
    assert create_app(database_url=db_url)[assist_app.TOKEN_KEY] == "from-env"


def test_missing_database_is_a_clear_startup_error(tmp_path):
    with pytest.raises(RuntimeError, match="python -m bot build"):
        create_app(database_url=f"sqlite:///{tmp_path / 'none.db'}", token="t")
    assert not (tmp_path / "none.db").exists()


# ---- understand -------------------------------------------------------------------

async def test_understand_reads_slots_and_canonical_values(client):
    resp = await post(client, "/api/understand", {"text": "我在增城开奶茶店，是小微企业，想问贷款贴息"})
    assert resp.status == 200
    d = await resp.json()
    assert d["slots"] == {"district": "增城区", "industry": "住宿和餐饮业", "size": ["小型", "微型"], "topic": "融资贴息"}
    assert d["canonical"]["sizes"] == ["小型", "微型"]
    assert d["region"]["city"] == "广州市" and d["region"]["covered"] is True
    assert d["region"]["hotline"]["number"] == "12345"


async def test_understand_traditional_characters_and_empty_text(client):
    d = await (await post(client, "/api/understand", {"text": "增城區小微企業貸款貼息"})).json()
    assert d["slots"]["district"] == "增城区" and d["slots"]["topic"] == "融资贴息"
    empty = await (await post(client, "/api/understand", {"text": ""})).json()
    assert empty["slots"] == {"district": None, "industry": None, "size": None, "topic": None}


async def test_responses_are_utf8_json_not_escaped(client):
    resp = await post(client, "/api/understand", {"text": "增城"})
    raw = await resp.read()
    assert "增城区".encode("utf-8") in raw and b"\\u" not in raw


# ---- measures ----------------------------------------------------------------------

async def test_zengcheng_small_loan_interest(client):
    d = await measures(client, text="小微企业贷款贴息", district="增城区", size="小微", topic="贴息", limit=3)
    top = d["results"][0]
    assert top["lead_units"] == ["区科工商信局"]
    assert top["expired"] is True and top["valid_until"] == "2020-12-31"
    assert "增府规〔2020〕1号" in top["citation"]
    assert "已过期" in top["validity"] and "2020年12月31日" in top["validity"]
    assert top["units"].startswith("牵头单位：区科工商信局")
    assert top["summary"].startswith("1. ") and top["citation"] in top["summary"]
    assert d["profile"] == {"district": "增城区", "industry": None, "sizes": ["小型", "微型"], "topic": "融资贴息",
                            "unknown": {}}
    script = d["script"]
    assert "区科工商信局" in script and "已过期" in script and "增府规〔2020〕1号" in script
    assert "12345" in script  # no phone on record for the unit: the honest fallback
    assert any("已过期" in n for n in d["notes"])


async def test_tianhe_has_no_lead_units_and_the_script_falls_back_to_12345(client):
    d = await measures(client, text="天河区的企业有什么扶持政策", limit=10)
    assert d["profile"]["district"] == "天河区" and d["results"]
    for r in d["results"]:
        assert r["lead_units"] == [] and r["responsible_units"] == []
        assert "原文未写明牵头单位" in r["units"]
        assert r["expired"] is None and "未注明有效期" in r["validity"]
    assert "12345" in d["script"] and "原文未写明牵头单位" in d["script"]
    assert "区发展改革局" in d["script"]  # the document's own contact instruction


async def test_editing_the_district_slot_changes_the_results(client):
    text = "小微企业贷款贴息"
    zc = await measures(client, text=text, district="增城区")
    th = await measures(client, text=text, district="天河区")
    assert {r["region"] for r in zc["results"]} == {"增城区"}
    assert {r["region"] for r in th["results"]} == {"天河区"}
    assert {r["document_key"] for r in zc["results"]}.isdisjoint({r["document_key"] for r in th["results"]})
    assert zc["script"] != th["script"]


async def test_slots_absent_are_read_from_text_and_slots_present_win(client):
    d = await measures(client, text="增城小微企业贷款贴息")
    assert d["slots"]["district"] == {"value": "增城区", "canonical": "增城区", "source": "text", "unknown": None}
    assert d["slots"]["size"]["canonical"] == ["小型", "微型"]
    # the agent overrides the district the caller said, and clears the size ("不限")
    d2 = await measures(client, text="增城小微企业贷款贴息", district="海珠", size=None)
    assert d2["slots"]["district"]["source"] == "agent" and d2["profile"]["district"] == "海珠区"
    assert d2["profile"]["sizes"] == [] and d2["slots"]["size"]["source"] is None
    assert {r["region"] for r in d2["results"]} == {"海珠区"}


async def test_free_text_slots_are_canonicalised_or_reported(client):
    d = await measures(client, text="", district="增城", industry="奶茶店", size="小型、微型", topic="房租")
    assert d["profile"]["industry"] == "住宿和餐饮业" and d["profile"]["sizes"] == ["小型", "微型"]
    assert d["profile"]["topic"] == "租金减免"
    d = await measures(client, text="贴息", district="增城区", industry="量子计算")
    assert d["slots"]["industry"]["unknown"] == "量子计算"
    assert any("量子计算" in n for n in d["notes"]) and d["results"]


async def test_unknown_district_lists_no_other_regions_measures(client):
    d = await measures(client, text="贷款贴息", district="火星区")
    assert d["total"] == 0 and d["results"] == []
    assert any("火星区" in n for n in d["notes"])
    assert "火星区" in d["script"] and "12345" in d["script"]


async def test_uncovered_district_is_said_honestly(client):
    d = await measures(client, text="越秀区的小微企业能申请贷款贴息吗")
    assert d["total"] == 0 and d["region_covered"] is False
    assert "越秀区" in d["script"] and "广州12345" in d["script"]
    assert any("越秀区" in n and "增城区" in n for n in d["notes"])


async def test_city_level_question_says_which_district_a_measure_is_for(client):
    d = await measures(client, text="广州的小微企业贷款贴息")
    assert d["profile"]["district"] == "广州市" and d["results"]
    assert all(r["region_match"] == "narrower" for r in d["results"])
    assert "（仅适用于" in d["script"] and "（仅适用于" in d["results"][0]["region_note"]


async def test_traditional_question_finds_the_same_measures(client):
    simp = await measures(client, text="增城区小微企业贷款贴息")
    trad = await measures(client, text="增城區小微企業貸款貼息")
    assert [r["id"] for r in trad["results"]] == [r["id"] for r in simp["results"]]


async def test_district_words_do_not_count_as_relevance(client):
    # no 天河 measure is about rent: say so, instead of ranking by the pieces of "天河区"
    d = await measures(client, text="天河区的企业租金有什么政策")
    assert d["relaxed"] is True and d["found"] is False
    assert any("天河区文件中没有关于“租金”" in n for n in d["notes"])
    assert "没有关于“租金”" in d["script"] and "12345" in d["script"]


async def test_pagination_and_as_of(client):
    a = await measures(client, district="增城区", limit=5)
    b = await measures(client, district="增城区", limit=5, offset=5)
    assert a["total"] == b["total"] == 111 and b["results"][0]["number"] == 6
    assert not {r["id"] for r in a["results"]} & {r["id"] for r in b["results"]}
    early = await measures(client, text="贴息", district="增城区", as_of="2020-05-01", limit=1)
    assert early["results"][0]["expired"] is False and "仍在有效期内" in early["results"][0]["validity"]


async def test_empty_input_is_a_polite_empty_result(client):
    d = await measures(client, text="")
    assert d["results"] == [] and d["empty_input"] is True and d["notes"]
    d = await measures(client, text="   ", district=None)
    assert d["results"] == []


# ---- work order ------------------------------------------------------------------------

async def _zengcheng_ids(client, n=2):
    d = await measures(client, text="小微企业贷款贴息", district="增城区", size="小微", topic="贴息", limit=n)
    return [r["id"] for r in d["results"]], d


async def test_workorder_json(client):
    ids, d = await _zengcheng_ids(client)
    body = {"caller_need": "咨询小微企业贷款贴息能否申请", "text": "我在增城，小微企业，想问贷款贴息",
            "district": "增城区", "industry": None, "size": "小微", "topic": "贴息", "measure_ids": ids,
            "as_of": AS_OF.isoformat()}
    resp = await post(client, "/api/workorder", body)
    assert resp.status == 200
    w = await resp.json()
    assert w["kind"] == "12345工单" and w["caller_need"] == "咨询小微企业贷款贴息能否申请"
    assert w["caller_text"] == "我在增城，小微企业，想问贷款贴息"
    assert w["region"] == {"district": "增城区", "as_given": "增城区", "city": "广州市", "covered": True}
    assert w["enterprise"]["sizes"] == ["小型", "微型"] and w["enterprise"]["topic"] == "融资贴息"
    assert [m["id"] for m in w["measures"]] == ids
    assert "增府规〔2020〕1号" in w["measures"][0]["citation"] and w["measures"][0]["expired"] is True
    assert w["transfer"]["name"] == "区科工商信局" and w["transfer"]["basis"] == "lead_unit"
    assert w["hotline"]["number"] == "12345"
    assert "区科工商信局" in w["summary"] and "增府规〔2020〕1号" in w["summary"]


async def test_workorder_transfer_defaults_and_override(client):
    th = await measures(client, text="天河区企业扶持", limit=1)
    w = await (await post(client, "/api/workorder", {"text": "天河区企业扶持",
                                                      "measure_ids": [th["results"][0]["id"]]})).json()
    assert w["transfer"]["name"] == "区发展改革局" and w["transfer"]["basis"] == "document_contact"
    hz = await measures(client, district="海珠区", limit=1)
    assert hz["results"][0]["document_contact"] is None
    w = await (await post(client, "/api/workorder", {"district": "海珠区", "measure_ids": [hz["results"][0]["id"]]})).json()
    assert w["transfer"]["basis"] == "hotline" and w["transfer"]["phone"] == "12345"
    assert w["caller_need"] == "未说明"
    w = await (await post(client, "/api/workorder", {"district": "海珠区", "measure_ids": [hz["results"][0]["id"]],
                                                      "transfer_unit": "海珠区商务局"})).json()
    assert w["transfer"] == {**w["transfer"], "name": "海珠区商务局", "basis": "agent"}


async def test_workorder_reports_unknown_measure_ids(client):
    w = await (await post(client, "/api/workorder", {"district": "增城区", "measure_ids": [999999]})).json()
    assert w["measures"] == [] and w["measure_ids_not_found"] == [999999]
    assert w["transfer"]["basis"] == "hotline"


def _read_csv(raw: bytes):
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so Excel reads it as UTF-8"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


async def test_workorder_csv_by_get_and_post(client):
    ids, _ = await _zengcheng_ids(client)
    resp = await client.get("/api/workorder.csv", headers=AUTH, params=[
        ("text", "增城小微企业贷款贴息"), ("caller_need", "问贴息"), ("size", "小型"), ("size", "微型"),
        ("measure_ids", ",".join(map(str, ids))), ("as_of", AS_OF.isoformat())])
    assert resp.status == 200
    assert resp.content_type == "text/csv" and resp.charset == "utf-8"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = _read_csv(await resp.read())
    assert len(rows) == 2
    row = dict(zip(*rows))
    assert row["来电诉求"] == "问贴息" and row["所在地区"] == "增城区" and row["企业规模"] == "小型、微型"
    assert "增府规〔2020〕1号" in row["已告知措施（出处）"] and row["已告知措施（出处）"].startswith("1. ")
    assert row["转办单位"] == "区科工商信局" and "已过期" in row["有效期"]
    resp = await post(client, "/api/workorder?format=csv", {"text": "增城小微企业贷款贴息", "measure_ids": ids})
    assert resp.status == 200 and resp.content_type == "text/csv"
    assert dict(zip(*_read_csv(await resp.read())))["转办单位"] == "区科工商信局"


async def test_workorder_csv_cells_cannot_be_formulas(client):
    resp = await post(client, "/api/workorder?format=csv",
                      {"caller_need": "=HYPERLINK(\"http://x\",\"点我\")", "text": "@SUM(1+1)", "district": "增城区"})
    row = dict(zip(*_read_csv(await resp.read())))
    assert row["来电诉求"].startswith("'=") and row["来电原话"].startswith("'@")


# ---- vocabulary -------------------------------------------------------------------------

async def test_vocabulary(client):
    v = await (await client.get("/api/vocabulary", headers=AUTH)).json()
    names = [d["name"] for d in v["districts"]]
    assert names[:5] == v["covered_regions"] == ["增城区", "天河区", "葛店开发区", "海珠区", "珠海市"]
    assert names.index("香洲区") < names.index("越秀区")  # covered by 珠海市's document
    assert next(d for d in v["districts"] if d["name"] == "越秀区")["covered"] is False
    sizes = {s["name"]: s["members"] for s in v["sizes"]}
    assert sizes["小型"] == ["小型"] and sizes["小微企业"] == ["小型", "微型"]
    assert "住宿和餐饮业" in [i["name"] for i in v["industries"]]
    assert "融资贴息" in [t["name"] for t in v["topics"]]
    assert v["limits"]["max_text_chars"] == 2000


# ---- bad input: never a 500, never a trace -----------------------------------------------

BAD_BODIES = [
    ("invalid json", b"{\"text\": "),
    ("empty body", b""),
    ("json array", b"[1, 2]"),
    ("json null", b"null"),
    ("json string", b"\"hello\""),
    ("deep nesting", b"[" * 50_000 + b"]" * 50_000),
    ("not utf-8", "{\"text\": \"增城\"}".encode("gbk")),
    ("text is a number", b"{\"text\": 123}"),
    ("text is a list", b"{\"text\": [\"a\"]}"),
    ("district is a number", b"{\"text\": \"x\", \"district\": 5}"),
    ("size is an object", b"{\"text\": \"x\", \"size\": {\"a\": 1}}"),
    ("size list of numbers", b"{\"text\": \"x\", \"size\": [1, 2]}"),
    ("limit is text", b"{\"text\": \"x\", \"limit\": \"abc\"}"),
    ("limit superscript digit", "{\"text\": \"x\", \"limit\": \"²\"}".encode()),
    ("measure_ids superscript digit", "{\"text\": \"x\", \"measure_ids\": \"²\"}".encode()),
    ("limit is bool", b"{\"text\": \"x\", \"limit\": true}"),
    ("limit negative", b"{\"text\": \"x\", \"limit\": -1}"),
    ("limit huge", b"{\"text\": \"x\", \"limit\": 1000000000000000000000}"),
    ("offset float", b"{\"text\": \"x\", \"offset\": 1.5}"),
    ("as_of garbage", b"{\"text\": \"x\", \"as_of\": \"yesterday\"}"),
    ("as_of year 9999", b"{\"text\": \"x\", \"as_of\": \"9999-12-31\"}"),
    ("measure_ids injection", b"{\"text\": \"x\", \"measure_ids\": \"1; DROP TABLE measures\"}"),
    ("measure_ids objects", b"{\"text\": \"x\", \"measure_ids\": [{\"id\": 1}]}"),
    ("measure_ids too many", json.dumps({"text": "x", "measure_ids": list(range(1, 500))}).encode()),
    ("lone surrogate", b"{\"text\": \"\\ud800\\u589e\\u57ce\", \"district\": \"\\udfff\"}"),
    ("nul characters", b"{\"text\": \"\\u0000\\u0000\\u589e\\u57ce\"}"),
    ("NaN", b"{\"text\": \"x\", \"limit\": NaN}"),
    ("slot too long", json.dumps({"text": "x", "district": "区" * 500}).encode()),
    ("overlong text 2001 chars", json.dumps({"text": "增" * 2001}, ensure_ascii=False).encode()),
    ("overlong text 100 KB", json.dumps({"text": "贷" * 40_000}, ensure_ascii=False).encode()),
]
GOOD_ODD_TEXTS = [
    "😀😀 增城 贴息 🙏",
    "增城區小微企業貸款貼息",
    "'; DROP TABLE measures; --",
    "1 OR 1=1",
    "\" UNION SELECT * FROM contacts --",
    "%' AND 1=1 AND '%'='",
    "<script>alert(1)</script>",
    "ＡＢＣ１２３　全角",
    "\u200b\u200b\ufeff",
    "增" * 2000,
]


@pytest.mark.parametrize("path", ["/api/understand", "/api/measures", "/api/workorder", "/api/workorder?format=csv"])
@pytest.mark.parametrize("label, raw", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
async def test_bad_input_is_a_clear_json_error_or_a_normal_result(client, path, label, raw):
    resp = await client.post(path, data=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status in (200, 400, 413), (label, resp.status, await resp.text())
    if resp.status != 200:
        body = await resp.json()
        assert body["error"] and "Traceback" not in body["error"]
    if label.startswith("overlong"):
        assert resp.status == 413


@pytest.mark.parametrize("text", GOOD_ODD_TEXTS)
async def test_odd_but_valid_text_gives_a_normal_result(client, text):
    for path in ("/api/understand", "/api/measures", "/api/workorder"):
        resp = await post(client, path, {"text": text, "as_of": AS_OF.isoformat()})
        assert resp.status == 200, (path, await resp.text())
        await resp.json()
    # the injection-looking strings were data: the database is intact
    d = await measures(client, district="增城区", limit=1)
    assert d["total"] == 111


@pytest.mark.parametrize("slot", ["district", "industry", "size", "topic"])
async def test_injection_looking_slot_values(client, slot):
    d = await measures(client, text="贴息", **{slot: "增城区' OR '1'='1"})
    assert d["slots"][slot]["unknown"]
    assert (await measures(client, district="增城区", limit=1))["total"] == 111


async def test_body_that_does_not_match_its_content_encoding(client):
    resp = await client.post("/api/measures", data=b'{"text": "x"}', headers={**AUTH, "Content-Encoding": "gzip"})
    assert resp.status == 400 and "Content-Encoding" in (await resp.json())["error"]


async def test_wrong_method_and_unknown_api_are_json(client):
    resp = await client.get("/api/measures", headers=AUTH)
    assert resp.status == 405 and "error" in await resp.json()
    resp = await client.get("/api/nothing", headers=AUTH)
    assert resp.status in (401, 404)
    resp = await client.get("/api/workorder.csv?measure_ids=abc", headers=AUTH)
    assert resp.status == 400 and (await resp.json())["field"] == "measure_ids"
    resp = await post(client, "/api/workorder?format=xml", {"text": "x"})
    assert resp.status == 400


async def test_database_error_is_503_not_a_trace(client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def broken(*a, **k):
        raise OperationalError("select", {}, Exception("no such table: measures"))
    monkeypatch.setattr(assist_measures, "measures", broken)
    resp = await post(client, "/api/measures", {"text": "贴息"})
    assert resp.status == 503 and "数据库" in (await resp.json())["error"]


async def test_unexpected_error_is_a_json_500_without_details(client, monkeypatch):
    def boom(*a, **k):
        raise KeyError("secret internals")
    monkeypatch.setattr(caller_profile, "understand", boom)
    resp = await post(client, "/api/understand", {"text": "x"})
    body = await resp.json()
    assert resp.status == 500 and "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)


# ---- the event loop is never blocked by database work ---------------------------------------

async def test_database_work_runs_off_the_event_loop(client, monkeypatch):
    real = assist_measures.measures

    def slow(*a, **k):
        time.sleep(0.6)  # a slow, blocking query
        return real(*a, **k)
    monkeypatch.setattr(assist_measures, "measures", slow)
    slow_call = asyncio.ensure_future(post(client, "/api/measures", {"text": "贴息", "district": "增城区"}))
    await asyncio.sleep(0.05)
    t0 = time.perf_counter()
    health = await client.get("/healthz")
    elapsed = time.perf_counter() - t0
    assert health.status == 200 and elapsed < 0.3, elapsed
    assert not slow_call.done()
    assert (await slow_call).status == 200


async def test_measures_latency(client):
    body = {"text": "我在增城开了家小微企业，想问贷款贴息", "as_of": AS_OF.isoformat()}
    await post(client, "/api/measures", body)  # warm
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        resp = await post(client, "/api/measures", body)
        await resp.read()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    print(f"/api/measures median over 50 in-process calls: {median * 1000:.1f} ms (p90 "
          f"{sorted(times)[44] * 1000:.1f} ms)")
    assert median < 1.0


# ---- the page -----------------------------------------------------------------------------

async def test_page_is_served_without_token_and_without_external_resources(client):
    resp = await client.get("/")
    assert resp.status == 200 and resp.content_type == "text/html"
    html = await resp.text()
    assert "读给来电人" in html and 'lang="zh-CN"' in html and 'name="viewport"' in html
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    for name in ("app.js", "style.css"):
        r = await client.get(f"/static/{name}")
        assert r.status == 200
    for f in STATIC.iterdir():
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), f"{f.name} references an external resource"
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    assert "sessionStorage" in js and "navigator.clipboard" in js and "execCommand(\"copy\")" in js
    assert "innerHTML" not in js


async def test_static_does_not_serve_outside_its_directory(client):
    resp = await client.get("/static/../app.py")
    assert resp.status in (403, 404)
    resp = await client.get("/static/%2e%2e/app.py")
    assert resp.status in (403, 404)
