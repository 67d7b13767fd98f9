"""Text repairs shared by documents and user input."""
from __future__ import annotations

from bot.nlu.normalizer import normalize_same_length
from bot.textnorm import mark_lost_chars, normalize_query, pdf_spacing, strip_pinyin
from bot.profile_reader import extract_slots


def test_pinyin_artifacts_are_removed_but_ordinary_brackets_stay():
    assert strip_pinyin("強化組織領(lǐng)導,竭力服務企業(yè)") == "強化組織領導,竭力服務企業"
    assert strip_pinyin("重点企业(项目)服务专班") == "重点企业(项目)服务专班"
    assert strip_pinyin("自由贸易(FT)账户") == "自由贸易(FT)账户"


def test_lost_characters_stay_visible():
    assert mark_lost_chars("高??科研") == "高□□科研"
    assert mark_lost_chars("what? yes") == "what? yes"


def test_pdf_spacing_joins_split_words_only():
    assert pdf_spacing("(牵 头单位:自然资 源和规划分局)") == "(牵头单位:自然资源和规划分局)"
    assert pdf_spacing("完成时限:2021 年12 月底") == "完成时限:2021年12月底"
    assert pdf_spacing("“鄂汇办” APP 等平台") == "“鄂汇办” APP 等平台"


def test_user_text_normalisation_keeps_length_for_entity_offsets():
    for text in ("增城區的小微企業有什麼貸款貼息", "ＡＢＣ１２３，天河區", "香洲区\u200b中型企业", "😀 贷款"):
        out = normalize_same_length(text)
        assert len(out) == len(text)
    assert normalize_same_length("增城區的小微企業") == "增城区的小微企业"
    assert normalize_query("  天河區　軟件  ") == "天河区 软件"


def test_dictionary_slot_reader_handles_traditional_and_full_width():
    slots = extract_slots("我們在增城區，做餐飲的小微企業，想問貸款貼息")
    assert slots["district"] == "增城区"
    assert slots["industry"] == "住宿和餐饮业"
    assert set(slots["size"]) == {"小型", "微型"}
    assert slots["topic"] == "融资贴息"
    assert extract_slots("广州天河的软件公司")["district"] == "天河区"
    assert extract_slots("")["district"] is None
