"""One parser for every layout: the five seeds read as the five hand-picked layouts read them, and
documents written here in each common structure and each input format give the measures and
units a person reading them would list."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
import yaml

from bot.documents.outline import Line, build_outline, looks_like_unit, read_attribution
from bot.documents.readers import ReadError, read_source
from bot.ingest import SEEDS_DIR, IngestError, parse_all, parse_document
from bot.documents.radicals import fold_radicals

DATA = Path(__file__).with_name("data")


@pytest.fixture(scope="module")
def seeds():
    return {d.key: d for d in parse_all()}


def test_the_five_seeds_give_what_the_five_layouts_gave(seeds):
    """Per measure: item, clause, text, units, deadline and amounts (with their kind) as the old
    per-document parsers read them (tests/data/seed_measures_5layouts.json)."""
    old = json.loads((DATA / "seed_measures_5layouts.json").read_text(encoding="utf-8"))["documents"]
    for key, rows in old.items():
        new = [[m.item_number, m.clause_no, hashlib.sha1(m.text.encode()).hexdigest()[:12], m.lead_units,
                m.responsible_units, m.deadline_text, [[a.raw, a.kind] for a in m.amounts]] for m in seeds[key].measures]
        assert len(new) == len(rows), key
        for a, b in zip(rows, new):
            assert a == b, (key, a[:2])


def test_no_seed_needs_a_layout_name():
    manifest = yaml.safe_load((SEEDS_DIR / "manifest.yml").read_text(encoding="utf-8"))
    assert not any("layout" in e for e in manifest["documents"])


def test_framing_sections_are_reported_not_read_as_measures(seeds):
    notes = [f.message for f in seeds["001"].findings]
    assert any("保障措施" in n and "5 item" in n for n in notes)
    assert not any("组织领导" in m.item_heading for m in seeds["001"].measures)


def test_metadata_is_read_from_the_text_as_the_manifest_states_it(seeds):
    for key in ("000", "001", "002"):
        d = seeds[key]
        assert d.facts.title == d.meta["title"]
        assert str(d.facts.published) == str(d.meta["published"])
    assert seeds["000"].facts.doc_number == "增府规〔2020〕1号"
    assert seeds["000"].facts.issuer == "广州市增城区人民政府"
    assert seeds["000"].facts.validity.valid_until == dt.date(2020, 12, 31)
    assert seeds["002"].facts.issuer == "中共鄂州市委葛店开发区工委"
    assert seeds["003"].facts.issuer == "广州市海珠区委改革办"


# ---------------------------------------------------------------- synthetic documents
def write_doc(tmp_path: Path, name: str, content, entry: dict = None) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    path = seeds / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    doc = {"file": name, "title": "测试文件", "region": "黄埔区", **(entry or {})}
    (seeds / "manifest.yml").write_text(yaml.safe_dump({"documents": [doc]}, allow_unicode=True), encoding="utf-8")
    return seeds


def parse(tmp_path, name, content, **entry):
    seeds = write_doc(tmp_path, name, content, entry)
    return parse_document(yaml.safe_load((seeds / "manifest.yml").read_text(encoding="utf-8"))["documents"][0], seeds)


CITY_2022 = """某市人民政府办公室关于印发某市促进中小企业发展若干措施的通知
某府办〔2022〕7号
各区人民政府，市直各单位：
现将《某市促进中小企业发展若干措施》印发给你们，请认真贯彻执行。
某市人民政府办公室
2022年3月1日
某市促进中小企业发展若干措施
一、加大财政支持
（一）设立专项资金。市财政统筹安排资金2.43亿元，对新认定的专精特新企业给予一次性奖励10万元。（责任单位：市工业和信息化局、市财政局，各园区管委会。以下政策措施均需各县区人民政府配合落实，不再单独列出）
（二）降低融资成本。对小微企业新增贷款给予贴息，每家企业每年最高50万元。（责任单位：市金融局、人民银行某市中心支行）
二、优化营商环境
（三）压缩办理时限。企业开办1个工作日内办结。（牵头单位：市市场监管局；配合单位：市政务服务数据管理局；完成时限：2022年6月底）
本措施自2022年4月1日起施行，有效期3年。
"""


def test_city_document_with_responsible_unit_fields_and_a_note(tmp_path):
    """The issue's case: a note inside "(责任单位:…)" is never a unit; a city-wide fund is a fund."""
    d = parse(tmp_path, "005_city.txt", CITY_2022)
    assert [m.item_number for m in d.measures] == ["(一)", "(二)", "(三)"]
    first = d.measures[0]
    assert first.responsible_units == ["市工业和信息化局", "市财政局", "各园区管委会"]
    assert not any("不再" in u or "以下" in u for m in d.measures for u in m.lead_units + m.responsible_units)
    assert any("不再单独列出" in f.message for f in d.warnings())
    kinds = {a.raw: a.kind for a in first.amounts}
    assert kinds["2.43亿元"] == "fund" and kinds["一次性10万元"] == "benefit"
    third = d.measures[2]
    assert third.lead_units == ["市市场监管局"] and third.responsible_units == ["市政务服务数据管理局"]
    assert third.deadline == dt.date(2022, 6, 30)
    assert d.measures[1].responsible_units == ["市金融局", "人民银行某市中心支行"]
    assert d.facts.doc_number == "某府办〔2022〕7号" and d.facts.issuer == "某市人民政府办公室"
    assert d.facts.published == dt.date(2022, 3, 1) and d.facts.title == "某市促进中小企业发展若干措施"
    assert d.valid_until == dt.date(2025, 3, 31)  # 自2022年4月1日起施行，有效期3年


ARTICLES = """第一章 总则
第一条 为支持企业稳岗，制定本办法。
第二章 支持措施
第二条 对不裁员或少裁员的企业，按上年度实际缴纳失业保险费的50%给予返还。
第三条 对吸纳就业困难人员的企业，每人每月给予500元社会保险补贴。
第三章 附则
第四条 本办法自印发之日起施行，有效期2年。
"""


def test_articles_under_chapters(tmp_path):
    d = parse(tmp_path, "006_articles.txt", ARTICLES, published="2023-01-10")
    texts = [m.text for m in d.measures]
    assert [m.item_number for m in d.measures] == ["第二条", "第三条"]  # 总则 and 附则 frame the document
    assert any("每人每月给予500元" in t for t in texts)
    assert d.measures[1].section_heading == "支持措施"
    assert d.valid_until == dt.date(2025, 1, 9)


POINTS_WITH_LABELLED_LINES = """关于做好稳就业工作的通知
一、支持企业吸纳就业
1.扩大招聘。对招用高校毕业生的企业给予每人1000元补贴。
牵头单位：区人社局
2.技能培训。
（1）以工代训。对开展以工代训的企业按每人每月500元给予补贴。（区人社局负责）
（2）线上培训。对组织职工线上培训的企业给予培训补贴。（区人社局、区财政局负责）
二、稳定就业岗位
一是减负稳岗。阶段性降低失业保险费率。
二是返还稳岗。符合条件的企业返还失业保险费。
"""


def test_items_numbered_again_under_each_article_are_cited_with_it(tmp_path):
    doc = ("某区促进投资办法\n第一条 投资奖励。\n（一）对新落户的企业，按实际投资额的1%给予奖励。\n"
           "（二）对增资扩产的企业，按新增投资额的2%给予奖励。\n第二条 用地保障。\n"
           "（一）对重点项目优先安排用地指标，由区规划和自然资源局办理。\n")
    d = parse(tmp_path, "017_articles.txt", doc)
    assert [m.item_number for m in d.measures] == ["第一条(一)", "第一条(二)", "第二条(一)"]
    assert d.measures[2].item_heading == "用地保障"


def test_nested_numbering_labelled_unit_lines_and_ordinal_points(tmp_path):
    d = parse(tmp_path, "007_points.txt", POINTS_WITH_LABELLED_LINES)
    by = {m.item_number: m for m in d.measures}
    assert set(by) == {"1.", "(1)", "(2)", "二、一是", "二、二是"}
    assert by["(1)"].lead_units == ["区人社局"] and by["(2)"].lead_units == ["区人社局", "区财政局"]
    assert by["(1)"].item_heading == "以工代训"
    assert by["1."].lead_units == ["区人社局"]  # "牵头单位：区人社局" on its own line


def test_a_number_out_of_sequence_is_text_not_an_item():
    lines = [Line(1, "一、总体安排"), Line(2, "1.第一项措施，对企业给予补贴。"),
             Line(3, "2020年起实施。"), Line(4, "5.这一行是续行，不是第5项。"), Line(5, "2.第二项措施，减免租金。")]
    outline = build_outline(lines)
    assert [b.label for b in outline.leaves()] == ["1.", "2."]
    assert "不是第5项" in outline.leaves()[0].text


def test_points_restart_in_every_item_and_a_wrapped_line_is_not_a_point():
    lines = [Line(1, "1.供电保障。"), Line(2, "一是新建变电站。"), Line(3, "二是改造线路，对企业"),
             Line(4, "2.供水保障。对企业用水给予保障，"), Line(5, "三是这一行是上一行的续行。")]
    outline = build_outline(lines)
    assert [b.label for b in outline.leaves()] == ["1.一是", "1.二是", "2."]
    assert "三是这一行是上一行的续行" in outline.leaves()[-1].text


@pytest.mark.parametrize("name, unit", [("区发改局", True), ("人民银行增城支行", True), ("各镇街", True),
                                        ("区总工会", True), ("各园区管委会", True), ("区法院", True),
                                        ("以下政策措施均需各县区人民政府", False), ("不再单独列出", False),
                                        ("2022年底", False), ("加强宣传", False)])
def test_what_looks_like_a_unit(name, unit):
    assert looks_like_unit(name) is unit


def test_ordinary_parentheses_are_not_attributions():
    assert read_attribution("展期视同新增") is None
    assert read_attribution("项目") is None
    assert read_attribution("由企业自行负责") is None
    assert read_attribution("区发改局牵头").lead == ["区发改局"]


def test_unknown_layout_name_is_an_error_not_an_empty_build(tmp_path):
    with pytest.raises(IngestError) as err:
        parse(tmp_path, "005_city.txt", CITY_2022, layout="numbered_task")
    assert "unknown layout" in str(err.value)


def test_a_layout_override_that_finds_nothing_says_what_the_text_has(tmp_path):
    with pytest.raises(IngestError) as err:
        parse(tmp_path, "005_city.txt", CITY_2022, layout="numbered_tasks")
    assert "no items numbered 1." in str(err.value) and "（一）" in str(err.value)


def test_a_document_without_items_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError) as err:
        parse(tmp_path, "008.txt", "这是一段没有任何条目编号的文字。\n第二行。\n")
    assert "no items" in str(err.value)


# ---------------------------------------------------------------- input formats
HTML_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>关于支持企业的措施_某区人民政府</title>
<meta name="ArticleTitle" content="某区关于支持企业的若干措施"><script>var nav = "一、不是正文";</script>
<style>.x{{}}</style></head><body>
<nav><ul><li><a href="/">首页</a></li><li><a href="/zc">政策文件</a></li><li><a href="/x">一、机构设置</a></li></ul></nav>
<header><a href="/">某区人民政府门户网站</a> 无障碍 长者模式</header>
<div class="main"><div id="zoom">
<p>某区关于支持企业的若干措施</p>
<p><span>一、</span>减免租金。对承租区属国有物业的中小企业，减免<b>3个月</b>租金。（区国资局牵头）</p>
<p>二、稳岗补贴。对不裁员的企业按每人300元给予补贴。（区人社局牵头）</p>
</div></div>
<div class="sidebar"><a href="/a">相关链接</a><a href="/b">一、热点</a></div>
<footer>主办：某区人民政府办公室 备案号 一、联系我们</footer><script>track();</script>
</body></html>"""


def test_html_page_article_body_without_navigation(tmp_path):
    d = parse(tmp_path, "010_page.html", HTML_PAGE)
    assert [m.item_number for m in d.measures] == ["一、", "二、"]
    assert "减免3个月租金" in d.measures[0].text
    assert d.measures[0].lead_units == ["区国资局"]
    assert "机构设置" not in d.text and "track" not in d.text and "首页" not in d.text
    assert d.source_format == "html"


def test_html_page_without_a_known_container_in_gb2312(tmp_path):
    """An older site: no article container we know, labelled gb2312; the body is the block with
    the most text that is not links, and the page is decoded as declared."""
    links = "".join(f"<a href='/{i}'>栏目链接第{i}个政务公开专栏</a>" for i in range(30))
    page = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'></head><body>"
            f"<div class='menu'>{links}</div><table><tr><td class='wz'>"
            "<p>一、减免租金。对承租区属国有物业的中小企业，减免3个月租金，具体由区国资局组织实施。（区国资局牵头）</p>"
            "<p>二、稳岗补贴。对不裁员的企业按每人300元给予补贴，所需资金由区财政安排。（区人社局牵头）</p>"
            "</td></tr></table></body></html>")
    d = parse(tmp_path, "016_old.html", page.encode("gb18030"))
    assert [(m.item_number, m.lead_units) for m in d.measures] == [("一、", ["区国资局"]), ("二、", ["区人社局"])]
    assert "栏目链接" not in d.text
    assert any("density" in f.message for f in d.findings)


def test_docx_with_typed_and_automatic_numbering_and_a_table(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("某区稳企业若干措施")
    document.add_paragraph("一、加大金融支持")
    document.add_paragraph("（一）贷款贴息。对新增贷款按实际利息的50%给予贴息。（区金融局牵头）")
    document.add_paragraph("（二）担保补助。给予担保金额1%的补助。（区财政局牵头）")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "联系电话", "见区政府网站"
    buf = io.BytesIO()
    document.save(buf)
    d = parse(tmp_path, "011_word.docx", buf.getvalue())
    assert [(m.item_number, m.lead_units) for m in d.measures] == [("(一)", ["区金融局"]), ("(二)", ["区财政局"])]
    assert d.measures[0].section_heading == "加大金融支持"
    assert any(a.raw == "50%" for a in d.measures[0].amounts)


def test_docx_automatic_numbering_is_read_as_typed_numbering(tmp_path):
    """Word's "List Number" puts "1." in the list definition, not in the paragraph's text."""
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("某区稳岗措施")
    document.add_paragraph("减免租金。对承租国有物业的企业减免3个月租金。（区国资局牵头）", style="List Number")
    document.add_paragraph("稳岗补贴。对不裁员的企业按每人300元给予补贴。（区人社局牵头）", style="List Number")
    buf = io.BytesIO()
    document.save(buf)
    d = parse(tmp_path, "015_list.docx", buf.getvalue())
    assert [(m.item_number, m.item_heading, m.lead_units) for m in d.measures] == [
        ("1.", "减免租金", ["区国资局"]), ("2.", "稳岗补贴", ["区人社局"])]


def make_pdf(lines, text_layer=True) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # a font every PDF reader has: no file needed
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    y = 800
    for line in lines:
        if text_layer:
            c.setFont("STSong-Light", 11)
            c.drawString(40, y, line)
        else:
            c.rect(40, y, 400, 8, fill=1)  # what a scan is to a text extractor: marks, no characters
        y -= 18
    c.drawString(280, 30, "- 1 -")
    c.showPage()
    c.save()
    return buf.getvalue()


def test_text_pdf_with_wrapped_lines_and_kangxi_radicals(tmp_path):
    lines = ["某区支持小微企业若干措施",
             "1.房租减免。对承租国有物业的小微企业减免3个月租",
             "⾦。（牵头单位：区国资局；完成时限：2022年6月底）",
             "2.稳岗返还。对不裁员企业返还失业保险费的50%。（牵头单位：区人社局）"]
    d = parse(tmp_path, "012_scan.pdf", make_pdf(lines))
    assert [m.item_number for m in d.measures] == ["1.", "2."]
    assert "减免3个月租金" in d.measures[0].text  # wrapped line joined, ⾦ read as 金
    assert d.measures[0].lead_units == ["区国资局"] and d.measures[0].deadline == dt.date(2022, 6, 30)
    assert "pdf_spacing" in d.cleaners
    assert "- 1 -" not in d.text


def test_pdf_without_text_layer_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError) as err:
        parse(tmp_path, "013_scan.pdf", make_pdf(["x"] * 5, text_layer=False))
    assert "no text layer" in str(err.value)


def test_gb18030_text_is_detected_and_converted(tmp_path):
    content = CITY_2022.encode("gb18030")
    d = parse(tmp_path, "014_gbk.txt", content)
    assert len(d.measures) == 3
    assert any("gb18030" in f.message.lower() or "gbk" in f.message.lower() for f in d.findings)


@pytest.mark.parametrize("name, data, message", [
    ("e.txt", b"  \n", "empty"),
    ("b.txt", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00binary", "binary"),
    ("x.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
    ("x.docx", b"PK\x03\x04 not a zip", "docx"),
    ("x.doc", b"whatever", ".doc"),
])
def test_unreadable_files_get_a_reason(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ReadError) as err:
        read_source(path)
    assert message in str(err.value)


def test_radicals_are_folded_but_other_compatibility_characters_stay():
    assert fold_radicals("⼀⾦⻔⻓⻅⻋") == "一金门长见车"
    assert fold_radicals("……①（一）") == "……①（一）"
