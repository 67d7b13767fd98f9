"""The conversation's building blocks without Rasa: follow-ups, validation, size, handoff."""
from __future__ import annotations

import pytest

from bot import chat


@pytest.fixture(autouse=True)
def measures_db(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)


def test_followups_resolve_against_the_listed_numbers():
    first = chat.find({"district": "增城区", "size": "小微企业", "topic": "融资贴息"}, "贷款")
    shown = first.slots["shown_measures"]
    assert len(shown) == 3 and "1. " in first.messages[0]
    page2 = chat.more({"district": "增城区", "size": "小微企业", "topic": "融资贴息"}, "贷款", 3, shown)
    shown2 = page2.slots["shown_measures"]
    assert shown2[:3] == shown and len(shown2) > 3
    assert "第4" in page2.messages[0] and "4. " in page2.messages[0]
    d = chat.detail("第四条详细说说", shown2, None)
    assert d.slots["focus_measure"] == shown2[3]
    assert "还没有" in chat.detail("第一条", [], None).messages[0]
    assert "第1到第" in chat.detail("第9条", shown, None).messages[0]


@pytest.mark.parametrize("text, n", [("第2条详细说说", 2), ("第二个", 2), ("第十二条", 12), ("3号", 3), ("第 1 条", 1),
                                     ("第二十条", 20), ("詳細說說第三條", 3), ("这个", None)])
def test_parse_ordinal(text, n):
    assert chat.parse_ordinal(text) == n


def test_the_first_reply_answers_and_asks_nothing_already_said():
    r = chat.find({}, "增城区小微企业贷款有没有贴息")
    text = r.messages[0]
    assert "1. " in text and "50%" in text and "最高20万元" in text  # the sentence with the facts
    assert "所在区" not in text and "企业规模可以" not in text  # district and size were in the message
    assert r.slots["district"] == "增城区" and r.slots["size"] == "小微企业"


def test_a_refinement_is_offered_only_when_it_would_change_the_list():
    # matches in several regions: the district is offered, as buttons of those regions only
    r = chat.find({}, "融资担保有什么支持")
    assert "1. " in r.messages[0] and r.buttons
    offered = {b["title"] for b in r.buttons}
    assert "增城区" in offered and offered <= {"增城区", "天河区", "葛店开发区", "海珠区", "珠海市"}
    assert all(b["payload"].startswith("/inform{") for b in r.buttons)
    # the place and the size already said: neither is asked again
    quiet = chat.find({}, "葛店小微企业注销公告要登几天")
    assert "20天" in quiet.messages[0]
    assert not any(b["payload"].startswith(('/inform{"size"', '/inform{"district"')) for b in quiet.buttons)


def test_head_count_and_revenue_give_the_size_at_once():
    r = chat.find({}, "我们30个人，一年营业额600万，增城区有什么补贴")
    assert "按您说的人数和营业收入" in r.messages[0] and "1. " in r.messages[0]
    assert r.slots["size"] == "中小微企业"
    assert "营业额" not in r.messages[0].split("找到")[0].split("关于")[-1]  # the figures are not searched for


def test_an_unreadable_profile_answer_is_said_and_the_question_answered():
    r = chat.change_profile({"district": "增城区", "industry": "搞些有的没的"}, "贷款贴息")
    text = r.messages[0]
    assert "没认出“搞些有的没的”对应的行业" in text and "1. " in text
    assert r.slots["industry"] == chat.UNSPECIFIED


def test_nothing_about_the_thing_asked_is_said_plainly():
    r = chat.find({}, "天河区应届毕业生社保补贴怎么领")
    text = r.messages[0]
    assert text.startswith("已收录的天河区文件中没有关于") and "12345" in text
    assert "仅供参考" in text or "1. " not in text
    assert "您所问内容" not in text


def test_an_uncovered_place_is_not_mapped_to_a_similar_covered_one():
    r = chat.find({}, "东湖高新区有没有贷款贴息")
    text = r.messages[0]
    assert "还没有收录东湖高新区" in text and "珠海" in text.split("已收录：")[1]
    assert "1. " not in text and not r.buttons
    assert "哪个区" not in text


def test_a_large_enterprise_is_told_a_measure_for_small_ones_does_not_apply():
    r = chat.find({}, "我们是大型企业，增城的工会经费返还能享受吗")
    assert "不适用于大型企业" in r.messages[0] and "第（四）条" in r.messages[0]


def test_a_follow_up_with_no_list_yet_is_answered_from_the_best_match():
    r = chat.lead_unit("增城稳岗补贴找哪个部门", [], None, {})
    assert "牵头单位" in r.messages[0] and r.slots["shown_measures"]
    assert "还没有给您列出" not in r.messages[0]
    assert "还没有给您列出" in chat.lead_unit("这个找谁", [], None, {}).messages[0]
    # the whole answer: what the measure gives, not only who to call
    r = chat.validity("贷款到期办了展期，算不算新增贷款？能不能申请贴息", [], None, {})
    assert "展期视同新增" in r.messages[0] and "有效期" in r.messages[0]
    # nothing answers it: said so, never "还没有给您列出措施"
    r = chat.validity("工商年报在哪里填，截止到几号", [], None, {})
    assert "没有关于" in r.messages[0] and "还没有给您列出" not in r.messages[0]
    assert "还没有给您列出" in chat.detail("第二条详细说说", [], None, {}).messages[0]


def test_a_size_question_from_an_enterprise_that_said_its_size_is_answered():
    # routed to "size class", but "大型" is said: nothing to classify, the question is answered
    r = chat.size_class(None, "五百多人", None, "我们公司五百多人，算大型企业，建了工会也按2%交了经费，能全额返还吗", {})
    assert "1. " in r.messages[0] and "工会经费" in r.messages[0] and "请告诉我行业" not in r.messages[0]


def test_size_class_from_employees_and_revenue():
    r = chat.size_class("零售", "30个人", "300万")
    assert r.slots == {"size": "小型"} and "300号" in r.messages[0]
    assert "行业" in chat.size_class(None, "30人", "300万").messages[0]
    ask = chat.size_class("批发和零售业", "30人", "300万")
    assert "批发" in ask.messages[0] and not ask.slots


def test_handoff_summarises_for_the_agent():
    from bot.answer import handoff_summary
    slots = {"district": "天河区", "topic": "税费"}
    first = chat.find(slots, "纳税服务")
    shown = [chat._load(int(i)) for i in first.slots["shown_measures"]]
    summary = handoff_summary(chat.profile_from_slots(slots), "纳税服务", shown, None)
    assert "天河区" in summary and "纳税服务" in summary and "《天河区全面优化营商环境行动方案》" in summary


@pytest.mark.parametrize("said", ["<img src=x onerror=alert(1)>", "<script>alert('x')</script>做餐饮", "&lt;b&gt;"])
def test_user_text_echoed_back_carries_no_markup(said):
    changed = chat.change_profile({"district": "增城区", "industry": said}, "贷款贴息")
    from bot.answer import handoff_summary
    handed = handoff_summary(chat.profile_from_slots({"district": "增城区"}), said + "贷款贴息", [], None)
    for text in changed.messages + [handed]:
        assert "<" not in text and ">" not in text and "&lt;" not in text


def test_a_message_the_nlu_could_not_place_is_answered_when_the_documents_answer_it():
    # routed to "size class" or "out of scope" by the NLU, but a measure answers it
    r = chat.size_class(None, None, None, "农业龙头企业贴息是按哪个利率算的", {})
    assert "1. " in r.messages[0] and "基准利率" in r.messages[0]
    assert chat.search_first({}, "天河简易低风险项目办建筑许可要多少天") is not None
    # nothing in the documents: the caller says its fixed sentence
    assert chat.search_first({}, "今天天气怎么样") is None
    # a policy question the documents do not answer: said plainly, not "没太明白"
    r = chat.search_first({"topic": "税费"}, "发票开错了要红冲，怎么操作")
    assert r is not None and "没有关于" in r.messages[0] and "12345" in r.messages[0]
    r = chat.search_first({}, "上海浦东开一家公司要几天")
    assert r is not None and "上海浦东" in r.messages[0] and "已收录" in r.messages[0]
    assert chat.search_first({}, "😀😀") is None
    # no topic read and the nearest clause far off, but two words the documents use: a policy question
    r = chat.search_first({}, "新公司没业务，每个月零申报怎么弄")
    assert r is not None and "没有关于" in r.messages[0]
    assert chat.search_first({}, "附近有什么好吃的") is None and chat.search_first({}, "我老板让我问一下") is None


def test_the_size_buttons_are_lexicon_words_that_together_cover_every_size():
    """chat.SIZE_CHOICES is a second list of size words: each must expand in the lexicon
    (a button the NLU and the query cannot read would answer as 不限), and an enterprise
    of any size must find its button."""
    from bot.lexicon import load_lexicon

    lex = load_lexicon()
    expanded = [lex.expand_size(word) for word in chat.SIZE_CHOICES]
    assert all(expanded), chat.SIZE_CHOICES
    assert {s for sizes in expanded for s in sizes} == set(lex.sizes)


def test_a_question_about_a_whole_document_gets_its_validity_as_printed():
    r = chat.find({}, "增城这份惠企措施有效期到什么时候")
    [text] = r.messages
    assert text.count("\n") == 0 and "增府规〔2020〕1号" in text  # only the region's document
    assert "有效期至2020年12月31日" in text and "已过期" in text and "原文：“上述措施有效期" in text
    assert r.slots == {"district": "增城区"}
    unstated = chat.find({}, "珠海这份流程再造的文件有效期到什么时候").messages[0]
    assert "原文无标题" in unstated and "《" not in unstated  # a described title is never cited in 《》
    assert "原文未注明有效期" in unstated and "12345" in unstated and "有效期至" not in unstated


def test_a_question_about_who_coordinates_a_document_names_the_office_it_prints():
    text = chat.find({}, "珠海这十项机制最后谁来督办").messages[0]
    assert "市政府办公室" in text and "实操督办" in text
    no_list = chat.lead_unit("增城这些措施执行中遇到问题向哪个部门反映", [], None, {})  # ask_lead_unit, no list yet
    assert "区发展改革局" in no_list.messages[0] and "径向区发展改革局反映" in no_list.messages[0]
    assert chat.find({"district": "海珠区"}, "这份文件找哪个部门").messages[0].count("原文未写明统筹或联系部门") == 1


def test_one_measure_asked_about_is_not_read_as_the_whole_document():
    r = chat.find({}, "增城复工这个政策还有效吗")
    assert "1. " in r.messages[0] and r.slots["shown_measures"]  # the measures about 复工, with their validity
    assert "已收录：" in chat.find({}, "上海这份文件有效期到什么时候").messages[0]  # not covered, said so


@pytest.mark.parametrize("text, gives", [("那天河区呢", True), ("做餐饮的", True), ("跳过", True), ("二十来个人", True),
                                         ("/inform{\"size\": \"中型\"}", True), ("😀😀😀", False), ("嗯嗯", False),
                                         ("' OR 1=1 --", False)])
def test_only_a_message_with_a_profile_fact_re_answers_the_last_question(text, gives):
    assert chat.gives_profile(text) is gives


def test_the_enterprise_s_own_head_count_is_not_searched_for():
    r = chat.find({}, "我们是增城的一家餐馆，十几个人，疫情期间房租有减免吗")
    head = r.messages[0].split("\n")[0]
    assert "十几" not in head and "房租" in head  # 住宿餐饮 needs revenue too: no size, and no search for "十几个"
    assert "工人" in chat.find({}, "招一个工人补多少钱").messages[0].split("\n")[0]  # a hire is what is asked


def test_a_thing_that_exists_only_for_other_sizes_is_said_so_first():
    text = chat.find({}, "我们公司五百多人，算大型企业，在增城有没有稳岗补贴").messages[0]
    first, second = text.split("\n")[:2]
    assert "关于“稳岗补贴”的措施，按原文不适用于您的企业" in first and "没有关于" not in text
    assert "限定中型、小型、微型企业" in second and "不适用于大型企业" in second


def test_a_product_named_after_that_or_this_is_not_the_enterprise_s_trade():
    # "那个防疫物资免息借款": the loan is for makers of 防疫物资; the caller did not say it makes them
    text = chat.find({}, "海珠那个防疫物资免息借款能借几年").messages[0]
    assert "按原文不适用" not in text and "3年免息借款" in text
    assert chat.find({}, "我们是个防疫物资企业，海珠有什么支持").slots.get("industry") == "防疫物资"


def test_a_question_about_a_topic_by_its_name_finds_the_clause_naming_its_kinds():
    # the clause says 养老保险费、失业保险费…可申请延期, never "社保"
    text = chat.find({}, "公司受疫情影响社保交不上，可以缓缴到什么时候").messages[0]
    head = text.split("\n")[0]
    assert "没有关于" not in head and "疫情解除后三个月内" in text
    assert "交不上" not in head  # how it was put, not a word the documents were searched for


def test_the_words_that_only_phrase_a_question_are_not_what_it_is_about():
    text = chat.find({}, "我们今年在银行新借了一笔钱，区里贴息是按几个月的利息算").messages[0]
    head = text.split("\n")[0]
    assert "没有关于" not in head and "一笔" not in head and "贴息" in head
    assert "金融业" not in head  # borrowing from a bank does not make the enterprise a bank


def test_a_question_about_a_document_s_closing_sentence_is_answered_from_it():
    # "领导小组办公室设在区发展改革局" closes 天河's plan: it is in no clause
    text = chat.find({}, "企业咨询天河优化营商环境领导小组办公室设在哪个部门").messages[0]
    assert "区发展改革局" in text and "没有关于" not in text and "经发局" not in text  # 葛店's office is not 天河's
    assert "区发展改革局" in chat.find({}, "领导小组办公室设在哪个部门").messages[0]
    assert "经发局" in chat.find({}, "领导小组办公室设在哪个部门").messages[0]


def test_what_the_question_names_and_no_clause_mentions_is_said_not_implied():
    head = chat.find({}, "企业咨询：招用残疾人有没有补贴").messages[0].split("\n")[0]
    assert "没有提到“残疾人”" in head and "关于“招用、补贴”" in head  # the list is about the rest
    head = chat.find({}, "增城区小微企业贷款有没有贴息").messages[0].split("\n")[0]
    assert "没有提到" not in head and "关于“贷款、贴息”" in head
    # a slip of colloquial text is no thing the documents lack ("多少个线上工作站": 个线)
    assert "没有提到" not in chat.find({}, "海珠建了多少个线上工作站服务企业").messages[0]


def test_a_number_asked_of_clauses_that_state_none_is_said_to_be_unstated():
    # 天河's clause on 众创空间 names no sum: the reply says so first, then shows it
    text = chat.find({}, "天河区众创空间的运营补贴标准是多少钱").messages[0]
    head = text.split("\n")[0]
    assert "没有写明金额或比例" in head and "众创空间" in text and "12345" in text
    # 增城's car clause states "每辆1000元": answered, not called unstated
    text = chat.find({}, "在增城区买新能源汽车每辆补多少").messages[0]
    assert "没有写明" not in text and "1000元" in text
    # a duration asked of clauses with none; how often something happens is not a time limit
    assert "没有写明办理时限" in chat.find({}, "葛店办食品经营许可证要多长时间").messages[0].split("\n")[0]
    assert "没有写明" not in chat.find({}, "小额贷款保证保险补偿多久给保险公司结算一次").messages[0]
    # "有没有上限" is answered in words by a clause ("不设上限")
    assert "没有写明" not in chat.find({}, "葛店厂房加层的容积率有没有上限").messages[0]


def test_the_trade_an_enterprise_wants_to_turn_into_is_asked_about_not_its_profile():
    text = chat.find({}, "我们在增城做餐饮的，想转型做电商，有什么支持").messages[0]
    assert "住宿和餐饮业" in text.split("\n")[0] and "批发和零售业" not in text.split("\n")[0]
    head = chat.find({}, "想转做电商，增城有什么支持").messages[0].split("\n")[0]
    assert "电商" in head and "批发和零售业" not in head  # searched for, not a listing for 零售


def test_a_big_factory_said_in_everyday_words_is_told_the_hiring_subsidy_is_for_smaller_ones():
    text = chat.find({}, "我们是增城的汽配大厂，新招员工有没有一次性补贴").messages[0]
    assert "制造业 · 大型" in text.split("\n")[0]  # 汽配 is the trade, 大厂 the size
    assert "按原文不适用于大型企业" in text and "中小企业新招员工" in text


def test_a_count_in_words_is_not_searched_for():
    head = chat.find({}, "天河办不动产登记最多3个手续，是哪三个").messages[0].split("\n")[0]
    assert "不动产登记" in head and "三个" not in head


def test_how_an_agent_relays_a_call_is_not_searched_for():
    head = chat.find({}, "来电人称其公司在天河，问新开的企业刻章要不要钱").messages[0].split("\n")[0]
    assert "人称" not in head and "没有关于" not in head and "刻章" in head


def test_whether_something_costs_money_is_answered_from_what_the_clause_says_about_fees():
    text = chat.find({}, "天河新办企业刻章收费吗").messages[0]
    assert "免费" in text and "没有写明" not in text
    from bot import retrieve
    asked = retrieve.number_asked("开办企业要不要钱")
    assert retrieve.number_unstated(asked, "开办企业要不要钱", ["实现新办企业全流程一表申报"]) == "是否收费"
    assert retrieve.number_unstated(asked, "开办企业要不要钱", ["首次刻制公章免费"]) is None
    # "最多多少个工作日" asks a duration, not a sum; "连续三年" states one
    assert retrieve.number_asked("审批最多多少个工作日").label == "办理时限"
    assert retrieve.number_unstated(retrieve.number_asked("返几耐"), "返几耐", ["连续三年给予全额奖励"]) is None


def test_a_relay_phrase_inside_a_word_is_not_taken_out():
    from bot import retrieve
    assert "反映" in retrieve.prepare("增城中小企业问题反映渠道").words  # "企业问" is no relay here
    assert retrieve.prepare("企业反映疫情期间罚款").words[:1] == ["疫情"]


def test_counts_durations_in_years_rates_and_phone_numbers_are_asks_too():
    from bot import retrieve
    assert retrieve.number_asked("最少几家企业可以联合").label == "数量"
    assert retrieve.number_asked("几家中小企业想一起竞买") is None  # says how many, asks nothing
    assert retrieve.number_asked("先租后让要先租几年").label == "办理时限"
    assert retrieve.number_asked("包容期是一年还是两年").label == "办理时限"
    assert retrieve.number_asked("抗疫贷利率几多").label == "金额或比例"
    phone = retrieve.number_asked("复工热线电话号码是多少")
    assert phone.label == "电话"
    assert retrieve.number_unstated(phone, "复工热线电话号码是多少", ["开通24小时复工热线"]) == "电话"
    assert retrieve.number_unstated(phone, "复工热线电话号码是多少", ["咨询电话：020-12345678"]) is None


def test_a_time_limit_the_question_states_is_not_searched_for_as_a_word():
    from bot import retrieve
    words = retrieve.prepare("我们是大型企业，在葛店找银行贷款也能8天内办完吗").words
    assert "天内" not in words and "银行贷款" in words
    assert "95%" in retrieve.prepare("电费按95%结算的优惠").words  # a ratio the clause states is searched


def test_first_time_is_no_reference_to_a_list_item():
    reply = chat.detail("在葛店第一次轻微违规，当场改正了还会罚吗", [], None, {}).messages[0]
    assert "还没有给您列出" not in reply and "免予" in reply
    assert chat.parse_ordinal("第一次被查出") is None and chat.parse_ordinal("第二条详细说说") == 2


def test_a_profile_answer_that_also_asks_is_the_new_question():
    assert chat.asks_something({}, "珠海 先租后让")  # a first message naming a place and a thing
    assert chat.asks_something({}, "那海珠的稳岗补贴呢？", "增城有什么贷款贴息")
    # answers to the profile question offered with a list: the question they refine stays
    for answer in ("貿易", "孵化器运营", "二十来个人", "那海珠呢", "跳过"):
        assert not chat.asks_something({}, answer, "增城有什么贷款贴息"), answer


def test_what_the_enterprise_says_it_does_wins_over_an_entity_read_elsewhere():
    from bot.profile_reader import read_profile
    read, _ = read_profile({"industry": "金融业"}, "我们是开酒店的，疫情下银行说要收回贷款")
    assert read["industry"] == "住宿和餐饮业"
