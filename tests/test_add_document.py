"""``python -m bot add``: the review report's warnings and refusals, each triggered by a document
made for it, and accepting a document puts it live in one step (seeds, manifest, database)."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.documents.review import Refused, accept, render_html, render_text, review_file
from bot.ingest import SEEDS_DIR

ROOT = Path(__file__).resolve().parent.parent

CITY = """广州市黄埔区人民政府办公室关于印发黄埔区促进中小企业发展若干措施的通知
穗埔府办〔2022〕7号
各街道办事处，区直各单位：
现将《黄埔区促进中小企业发展若干措施》印发给你们，请认真贯彻执行。
广州市黄埔区人民政府办公室
2022年3月1日
黄埔区促进中小企业发展若干措施
一、加大财政支持
（一）设立专项资金。区财政统筹安排资金2.43亿元，对新认定的专精特新企业给予一次性奖励10万元。（责任单位：区工业和信息化局、区财政局，各园区管委会。以下政策措施均需各街道配合落实，不再单独列出）
（二）降低融资成本。对小微企业新增贷款给予贴息，每家企业每年最高50万元。（责任单位：区金融局）
本措施自2022年4月1日起施行，有效期10年。
"""


@pytest.fixture
def seeds(tmp_path):
    dst = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, dst)
    return dst


def review(tmp_path, seeds, name, content, **kw):
    path = tmp_path / "incoming" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return review_file(path, seeds_dir=seeds, review_dir=tmp_path / "review", **kw)


def test_review_reports_notes_funds_and_new_units_and_changes_nothing(tmp_path, seeds):
    manifest_before = (seeds / "manifest.yml").read_bytes()
    rv = review(tmp_path, seeds, "city.txt", CITY)
    assert not rv.errors
    assert rv.entry["region"] == "黄埔区" and rv.entry["doc_number"] == "穗埔府办〔2022〕7号"
    assert rv.entry["issuer"] == "广州市黄埔区人民政府办公室" and rv.entry["published"] == "2022-03-01"
    assert rv.entry["valid_until"] == "2032-03-31"
    text = render_text(rv)
    assert "2.43亿元" in text.split("budget / fund")[1].split("\n")[0]  # a fund, not "可获得"
    assert "不再单独列出" in " ".join(rv.warnings)
    assert "区金融局 [new]" in text
    assert rv.build_counts["documents"] == 6 and rv.build_counts["measures"] == 217
    assert (seeds / "manifest.yml").read_bytes() == manifest_before
    assert not list(seeds.glob("005_*"))
    html = render_html(rv)
    assert "以下政策措施均需" in html and "设立专项资金" in html  # source lines beside the measure
    assert (tmp_path / "review" / "005" / "report.html").is_file()


def test_a_region_without_a_hotline_is_a_warning(tmp_path, seeds):
    rv = review(tmp_path, seeds, "prov.txt", CITY.replace("黄埔区", "某某区"), region="湖北省")
    assert not rv.errors
    assert any("no 12345 hotline" in w and "湖北省" in w for w in rv.warnings)


def test_an_unknown_region_is_refused_with_what_to_do(tmp_path, seeds):
    rv = review(tmp_path, seeds, "x.txt", CITY, region="火星区")
    assert any("火星区" in e and "bot/lexicon.yml" in e for e in rv.errors)


def test_items_at_two_levels_and_an_item_without_text_are_warnings(tmp_path, seeds):
    doc = ("黄埔区稳就业措施\n一、支持招工\n（一）招工补贴。对新招员工的企业按每人500元给予补贴。（区人社局牵头）\n"
           "（二）扩大宣传。\n二、减免租金。对承租区属物业的企业减免3个月租金。（区国资局牵头）\n")
    rv = review(tmp_path, seeds, "levels.txt", doc, region="黄埔区")
    warnings = " ".join(rv.warnings)
    assert "more than one numbering level" in warnings
    assert "(二) has a heading but no text" in warnings


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"\x00\x01\x02\x03binary\x00\xff", "binary"),
])
def test_empty_and_binary_files_are_refused(tmp_path, seeds, content, reason):
    with pytest.raises(Refused) as err:
        review(tmp_path, seeds, "bad.txt", content, region="黄埔区")
    assert reason in str(err.value) and "nothing was changed" in str(err.value)


def test_a_document_with_no_items_is_refused(tmp_path, seeds):
    rv = review(tmp_path, seeds, "none.txt", "黄埔区关于做好工作的通知\n请各单位认真做好相关工作。\n", region="黄埔区")
    assert any("no items" in e for e in rv.errors)


def test_duplicates_are_refused_naming_the_document_already_in(tmp_path, seeds):
    seed = seeds / "004_205db0b0f84c3f3e.txt"
    with pytest.raises(Refused) as err:
        review(tmp_path, seeds, "again.txt", seed.read_bytes(), region="珠海市")
    assert "004_205db0b0f84c3f3e.txt" in str(err.value)
    # the same text in another encoding is the same document
    rv = review(tmp_path, seeds, "again_gbk.txt", seed.read_text(encoding="utf-8").encode("gb18030"), region="珠海市",
                overrides={"title": "重复"})
    assert any("same text" in e and "004_205db0b0f84c3f3e.txt" in e for e in rv.errors)
    assert any("gb18030" in n.lower() for n in rv.info)
    # the same document number
    number = CITY.replace("穗埔府办〔2022〕7号", "增府规〔2020〕1号")
    rv = review(tmp_path, seeds, "same_number.txt", number)
    assert any("增府规〔2020〕1号" in e and "000_5af0f0f8f737ddd0.txt" in e for e in rv.errors)


def test_accept_puts_it_live_and_the_entry_a_person_corrected_is_used(tmp_path, seeds):
    rv = review(tmp_path, seeds, "city.txt", CITY)
    entry_file = tmp_path / "review" / "005" / "entry.yml"
    entry = yaml.safe_load(entry_file.read_text(encoding="utf-8"))
    entry["source_url"] = "http://example.invalid/policy.html"  # what the person adds
    entry_file.write_text(yaml.safe_dump(entry, allow_unicode=True), encoding="utf-8")
    rv = review(tmp_path, seeds, "city.txt", CITY)
    assert rv.key == "005" and rv.entry["source_url"] == "http://example.invalid/policy.html"
    db = tmp_path / "live.db"
    done = accept(rv, seeds_dir=seeds, database_url=f"sqlite:///{db}", retrain=False)
    assert done.counts["documents"] == 6
    manifest = yaml.safe_load((seeds / "manifest.yml").read_text(encoding="utf-8"))
    assert manifest["documents"][-1]["doc_number"] == "穗埔府办〔2022〕7号"
    assert "# What a person knows" in (seeds / "manifest.yml").read_text(encoding="utf-8")  # comments kept
    with sqlite3.connect(db) as c:
        units = {r[0] for r in c.execute("select u.name from units u join measure_units mu on mu.unit_id = u.id "
                                         "join measures m on m.id = mu.measure_id join documents d on d.id = m.document_id "
                                         "where d.key = '005'")}
    assert units == {"区工业和信息化局", "区财政局", "各园区管委会", "区金融局"}
    assert any("reconnects" in s for s in done.steps) and any("lexicon artifacts" in s for s in done.steps)
    with pytest.raises(Refused):  # and now it is a duplicate
        review(tmp_path, seeds, "city.txt", CITY)


def test_cli_add_without_accept_prints_the_report_and_how_to_accept(tmp_path):
    path = tmp_path / "city.txt"
    path.write_text(CITY, encoding="utf-8")
    manifest_before = (SEEDS_DIR / "manifest.yml").read_bytes()
    review_dir = tmp_path / "review"
    out = subprocess.run([sys.executable, "-m", "bot", "add", str(path), "--review-dir", str(review_dir)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "nothing is live yet" in out.stdout and "--accept" in out.stdout
    assert (SEEDS_DIR / "manifest.yml").read_bytes() == manifest_before
    assert (review_dir / "005" / "report.html").is_file() and str(review_dir) in out.stdout
    bad = tmp_path / "empty.txt"
    bad.write_bytes(b"")
    out = subprocess.run([sys.executable, "-m", "bot", "add", str(bad)], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 2 and "empty" in out.stderr


def test_a_build_by_hand_is_not_silent_either(tmp_path, seeds):
    """`make db` after a hand edit: the note and the missing hotline come out as warnings."""
    from bot.build import build
    (seeds / "009_hand.txt").write_text(CITY, encoding="utf-8")
    manifest = yaml.safe_load((seeds / "manifest.yml").read_text(encoding="utf-8"))
    manifest["documents"].append({"file": "009_hand.txt", "title": "手工添加", "region": "湖北省"})
    (seeds / "manifest.yml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    warnings = []
    counts = build(f"sqlite:///{tmp_path / 'm.db'}", seeds_dir=seeds, warnings=warnings)
    assert counts["documents"] == 6
    assert any(w.startswith("009_hand.txt:9:") and "不再单独列出" in w for w in warnings)
    assert any("009_hand.txt" in w and "no 12345 hotline" in w for w in warnings)
    assert not any(w.startswith("00" + k) for w in warnings for k in "01234")  # the seeds read cleanly


def test_a_web_page_gets_its_title_and_date_from_its_meta_tags(tmp_path, seeds):
    page = ("<html><head><meta charset='utf-8'><meta name='ArticleTitle' content='黄埔区稳岗十条'>"
            "<meta name='PubDate' content='2023-05-06 10:00'><meta name='ContentSource' content='广州市黄埔区人力资源和社会保障局'>"
            "</head><body><nav><a href='/'>首页</a></nav><div id='zoom'>"
            "<p>一、稳岗返还。对不裁员的企业返还上年度失业保险费的50%，由区人社局统一办理。（区人社局牵头）</p>"
            "<p>二、招工补贴。对新招用本地劳动力的企业按每人500元给予补贴。（区人社局牵头）</p></div></body></html>")
    rv = review(tmp_path, seeds, "page.html", page)
    assert not rv.errors
    assert rv.entry["title"] == "黄埔区稳岗十条" and rv.entry["published"] == "2023-05-06"
    assert rv.entry["issuer"] == "广州市黄埔区人力资源和社会保障局" and rv.entry["region"] == "黄埔区"
    assert rv.entry["file"].endswith(".html") and len(rv.doc.measures) == 2
