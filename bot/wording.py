"""The sentences people read, in one place: a wording change is one edit here.

Templates take only values that come from the database, the lexicon or (escaped)
from the user. Nothing here decides *what* to say — bot/answer.py and
bot/chat.py do — only *how* it is said.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

#: the fallback when no unit or contact is on record
HOTLINE_FALLBACK = "当地12345政务服务便民热线"


def hotline_phrase(hotline: Optional[dict]) -> str:
    """"广州12345政务服务便民热线（12345）", or the generic fallback when the region has none."""
    if hotline:
        return f"{hotline['name']}（{hotline['number']}）"
    return HOTLINE_FALLBACK


def apology(hotline: Optional[dict]) -> str:
    return f"抱歉，系统暂时查不到政策数据，请稍后再试，或拨打{hotline_phrase(hotline)}咨询。"


def handing_off(hotline: Optional[dict]) -> str:
    return f"正在为您转人工。也可直接拨打{hotline_phrase(hotline)}。"


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
def found_head(profile_line: str, total: int, shown: int, words: Sequence[str]) -> str:
    about = f"关于“{'、'.join(words[:4])}”，" if words else ""
    more = f"，先列前{shown}条" if total > shown else ""
    return f"{about}按您的情况（{profile_line}）找到{total}条措施{more}："


def listing_head(profile_line: str, total: int, shown: int) -> str:
    more = f"，先列前{shown}条" if total > shown else ""
    return f"按您的情况（{profile_line}），适用的措施共{total}条{more}："


def one_region(region: str) -> str:
    return f"（以下均出自{region}的文件，只适用于{region}的企业。）"


def not_found(words: Sequence[str], where: str) -> str:
    return f"已收录的{where}文件中没有关于“{'、'.join(words[:4])}”的措施。"


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
EXPIRED_ASK = "如想了解是否有延续或新出台的政策，可咨询牵头单位或拨打12345。"
EXPIRED_NOTE = "注意：标“已过期”的措施现已不能按原条款申请，可作了解或咨询是否有延续政策。"
FOLLOW_UP_HINT = "回复“第N条详细说说”看全文，“这个找谁”看联系方式。"
MORE_HINT = "回复“更多”看下一页。"


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
