"""The sentences people read, in one place: a wording change is one edit here.

Templates take only values that come from the database, the lexicon or (escaped)
from the user. Nothing here decides *what* to say — bot/answer.py and
bot/chat.py do — only *how* it is said.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

#: the hotline's number, when a sentence names it without a region ("向下方单位或12345核实")
HOTLINE_NUMBER = "12345"
#: the fallback when no unit or contact is on record
HOTLINE_FALLBACK = f"当地{HOTLINE_NUMBER}政务服务便民热线"


def hotline_phrase(hotline: Optional[dict]) -> str:
    """"广州12345政务服务便民热线（12345）", or the generic fallback when the region has none."""
    if hotline:
        return f"{hotline['name']}（{hotline['number']}）"
    return HOTLINE_FALLBACK


def apology(hotline: Optional[dict]) -> str:
    """The one sentence for a fault (database, action server, tracker store, a channel's
    handler): sorry, try again, or call the hotline."""
    return f"抱歉，系统暂时查不到政策数据，请稍后再试，或拨打{hotline_phrase(hotline)}咨询。"


_MARKUP = re.compile(r"<[^>]{0,200}>|[<>]|&(?:[a-zA-Z]+|#\d+);")


def plain(user_text: str, limit: int = 80) -> str:
    """What the user wrote, fit to be echoed into a reply or an agent's summary: markup
    removed (a widget or console that renders HTML must never receive the user's tags),
    whitespace collapsed, shortened."""
    t = " ".join(_MARKUP.sub("", user_text or "").split())
    return t if len(t) <= limit else t[: limit - 1] + "…"


def quoted(user_text: str, limit: int = 20) -> str:
    return f"“{plain(user_text, limit)}”"


# ------------------------------------------------------------------ answers
def _first_of(total: int, shown: int) -> str:
    return f"，先列前{shown}条" if total > shown else ""


def found_head(profile_line: str, total: int, shown: int, words: Sequence[str],
               absent: Sequence[str] = ()) -> str:
    """``absent``: what the question names that no clause mentions: the list is about the rest."""
    about = [w for w in words if w not in absent]
    about = f"关于“{'、'.join(about[:4])}”" if about else ""
    if absent:
        about = f"已收录的文件没有提到“{'、'.join(absent[:3])}”" + (f"；{about}" if about else "")
    about += "，" if about else ""
    more = _first_of(total, shown)
    return f"{about}按您的情况（{profile_line}）找到{total}条措施{more}："


def unstated_head(what: str, words: Sequence[str], where: str, total: int, shown: int) -> str:
    """The clauses about the thing asked state no number of the kind asked: said first."""
    more = _first_of(total, shown)
    return f"已收录的{where}文件中关于“{'、'.join(words[:4])}”的措施没有写明{what}，相关的{total}条原文如下{more}："


def listing_head(profile_line: str, total: int, shown: int) -> str:
    more = _first_of(total, shown)
    return f"按您的情况（{profile_line}），适用的措施共{total}条{more}："


def one_region(region: str) -> str:
    return f"（以下均出自{region}的文件，只适用于{region}的企业。）"


def not_found(words: Sequence[str], where: str) -> str:
    return f"已收录的{where}文件中没有关于“{'、'.join(words[:4])}”的措施。"


def not_for_you(words: Sequence[str], where: str) -> str:
    """The clauses about the thing asked exist but the enterprise's size or industry rules them out."""
    return f"已收录的{where}文件中关于“{'、'.join(words[:4])}”的措施，按原文不适用于您的企业："


def nearest_head(n: int) -> str:
    return f"内容最接近的{n}条如下，仅供参考，不一定适用于您问的事项："


def ask_hotline(hotline: Optional[dict]) -> str:
    return f"具体可拨打{hotline_phrase(hotline)}咨询。"


def no_measures(profile_line: str) -> str:
    return f"按您提供的情况（{profile_line}），没有找到适用的措施。"


def rephrase_hint() -> str:
    return "可以换个问法（如“贷款贴息”“租金减免”“稳岗补贴”），或回复“转人工”。"


def not_covered(place: str, covered: Sequence[str]) -> str:
    return f"目前还没有收录{plain(place, 20)}的政策文件。已收录：{'、'.join(covered)}。"


def place_hotline(hotline: Optional[dict]) -> str:
    return f"当地政策可咨询{hotline_phrase(hotline)}。"


def not_applying(sizes: Sequence[str], enterprise: str, citation: str, snippet: str) -> str:
    return (f"注意：{citation}限定{'、'.join(sizes)}企业（原文：“{snippet}”），"
            f"按原文不适用于{enterprise}企业。")


def not_applying_industry(industries: Sequence[str], enterprise: str, citation: str) -> str:
    return f"注意：{citation}限定{'、'.join(industries)}，按原文不适用于{enterprise}。"


GOVERNMENT_NOTE = "（这条是政府部门的工作做法，不是企业可申请的事项）"
EXPIRED_ASK = f"如想了解是否有延续或新出台的政策，可咨询牵头单位或拨打{HOTLINE_NUMBER}。"
EXPIRED_NOTE = "注意：标“已过期”的措施现已不能按原条款申请，可作了解或咨询是否有延续政策。"
FOLLOW_UP_HINT = "回复“第N条详细说说”看全文，“这个找谁”看联系方式。"
MORE_HINT = "回复“更多”看下一页。"


def validity_unstated(published: Optional[str], age: str = "") -> str:
    """No validity in the document: say so, with its publication date when it has one."""
    where = f"文件未注明有效期（发布于{published}{age}）" if published else "文件未注明有效期和发布日期"
    return f"{where}，是否仍在执行请向下方单位或{HOTLINE_NUMBER}核实"


def document_validity(label: str, until: Optional[str], printed: Optional[str], expired: Optional[bool],
                      today: str) -> str:
    """A whole document's validity, as printed (``until`` already in 年月日)."""
    if until:
        state = f"截至{today}已过期" if expired else "目前仍在有效期内"
        said = f"（原文：“{printed}”）" if printed else ""
        return f"{label}：有效期至{until}，{state}{said}。"
    return f"{label}：原文未注明有效期，是否仍在执行请向{HOTLINE_NUMBER}核实。"


def document_contact(label: str, unit: Optional[str], printed: Optional[str], hotline: Optional[dict]) -> str:
    """The office a whole document names for questions, as printed, or the honest fallback."""
    if unit:
        said = f"（原文：“{printed}”）" if printed else ""
        return f"{label}：文件指明的联系部门是{unit}{said}。"
    return f"{label}：原文未写明统筹或联系部门，可拨打{hotline_phrase(hotline)}咨询。"


def no_phone_on_record(hotline: Optional[dict]) -> str:
    return f"暂无该单位电话记录，可拨打{hotline_phrase(hotline)}转接"


def size_limited(sizes: Sequence[str]) -> str:
    return f"（原文限{'、'.join(sizes)}企业）"


# ------------------------------------------------------------------ refinement offers
def offer_district(regions: Sequence[str]) -> str:
    return f"这些措施出自不同地区（{'、'.join(regions)}）的文件。告诉我企业在哪个区，可以只看适用的："


def offer_size() -> str:
    return "其中有的措施限定企业规模。告诉我企业规模可以帮您排除不适用的："


def offer_industry(industries: Sequence[str]) -> str:
    return f"其中有的措施限定行业（{'、'.join(industries)}）。告诉我行业可以帮您排除不适用的："


def unrecognised(slot: str, said: str) -> str:
    name = {"district": "地区", "industry": "行业", "size": "企业规模"}.get(slot, slot)
    return f"没认出{quoted(said)}对应的{name}，先按不限{name}为您查："


def size_from_figures(sizes: Sequence[str]) -> str:
    if len(sizes) == 1:
        return f"按您说的人数和营业收入，属于{sizes[0]}企业。"
    return f"按您说的人数和营业收入，属于{'/'.join(sizes)}企业（具体看行业）。"


# ------------------------------------------------------------------ follow-ups
NO_LIST_YET = "还没有给您列出措施。请告诉我想了解的内容，例如“增城区有什么贷款贴息？”"
NOTHING_TO_SHOW_MORE = "还没有查询结果。请告诉我所在区和想了解的内容，例如“天河区有什么稳岗补贴？”"
NO_MORE = "已经是全部结果了。可以换个地区或主题再问，或回复“转人工”。"


def pick_within(n_shown: int) -> str:
    return f"目前列出了{n_shown}条，请说第1到第{n_shown}条中的一条。"


MEASURE_GONE = "这条措施已不在数据库中（可能刚更新过），请重新查询。"


def searching_with(profile_line: str) -> str:
    return f"好的，按{profile_line}为您查："


# ------------------------------------------------------------------ enterprise size
SIZE_NEEDS_INDUSTRY = "判断企业规模要看行业、从业人数和营业收入。请告诉我行业，例如“零售，30人，年营收300万”。"
SIZE_NEEDS_MORE = "还需要更多信息才能判断规模。"


def size_needs_figures(industry: str) -> str:
    return f"请告诉我从业人数和上年营业收入（如“30人，年营收300万”），我按国家标准帮您判断{industry}企业的规模。"


def size_decided(size: str, rule: str) -> str:
    return f"按您提供的情况，属于{size}企业。{rule}"


# ------------------------------------------------------------------ channels (WeChat, WeCom)
WELCOME = (
    "您好，欢迎关注政策助手！我可以帮企业查找本地的扶持政策：能拿到什么、有效期到什么时候、找哪个部门办理。\n"
    "直接打字提问就可以，比如：\n"
    "1. 增城区的小微企业有哪些租金减免？\n"
    "2. 天河区的制造业企业贷款有没有贴息？\n"
    "3. 稳岗补贴找哪个部门申请？"
)
UNSUPPORTED_MESSAGE = (
    "抱歉，我暂时只能看懂文字消息，还不能识别图片、语音、视频、位置或链接。"
    "请直接用文字输入您的问题，例如：“海珠区的小微企业有哪些租金减免？”"
)
EMPTY_MESSAGE = "您好，没有收到文字内容。请直接输入您想咨询的问题，例如：“稳岗补贴怎么申请？”"
NO_ANSWER = "抱歉，我暂时没能理解您的问题。可以换个说法，比如说明所在区、行业和想了解的政策类型。"
BUSY = "抱歉，这个问题查询时间较长，没能及时回复。请稍后再发送一次您的问题。"
TRUNCATED_NOTE = "（内容较长，只显示了前一部分。可以说明所在区、行业或企业规模来缩小范围。）"


def reply_options(titles: Sequence[str]) -> str:
    """Buttons on a channel that has none: the titles as lines to type."""
    return "您可以回复：\n" + "\n".join(f"· {t}" for t in titles)


def message_too_long(max_chars: int) -> str:
    return f"您的消息超过{max_chars}字，请分几次发送，或只说明所在区、行业、企业规模和想了解的政策。"


SESSION_EXPIRED = "会话已失效，请刷新页面后重新提问。"


# ------------------------------------------------------------------ handoff to a person (bot/handoff.py, the inbox)
def handed_to_agent(number: str, position: Optional[int], hotline: Optional[dict]) -> str:
    """What the enterprise reads after "转人工": a plain sentence, never the agent's summary."""
    queue = f"您前面还有{position - 1}位在等候。" if position and position > 1 else ""
    return (f"已转给人工坐席，工作时间内会回复您（工单号{number}）。{queue}"
            f"坐席的回复会显示在这里；如需尽快办理，也可拨打{hotline_phrase(hotline)}。")


def handoff_unavailable(hotline: Optional[dict]) -> str:
    return f"抱歉，暂时无法转接人工坐席，请直接拨打{hotline_phrase(hotline)}。"


def forwarded_to_agent(number: str) -> str:
    return f"已转给人工坐席（工单号{number}），请稍候。"


def agent_reply(text: str) -> str:
    """An agent's reply as WeChat shows it (the widget marks it itself)."""
    return f"【人工坐席】{text}"


AGENT_CLOSED = "人工坐席已结束本次服务。还有问题可以继续问我，或再次回复“转人工”。"


def offline(hotline_number: Optional[str]) -> str:
    """The widget's banner after a few failed retries. ``hotline_number``: the number every
    hotline in the lexicon shares (12345), if they all share one."""
    number = f"（{hotline_number}）" if hotline_number else ""
    return f"暂时连不上服务器，您的消息会在恢复后发送。急需咨询请拨打{HOTLINE_FALLBACK}{number}。"


# ------------------------------------------------------------------ the widget's measure cards (bot/cards.py)
VALIDITY_BADGES = {"valid": "有效", "expired": "已过期", "unknown": "有效期未注明"}
SOURCE_LINK = "查看原文"
ARTICLE_PAGE_NOTE = "原文未附网址，以下为本助手收录的条文全文。"
