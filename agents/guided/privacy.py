"""Guided mode's reading of a person's privacy requests, and its replies to them.

"Send me a copy of my data" calls the export tool (it only reads); "delete my data" calls the
erasure-request tool, which pauses for the person's explicit approval like every tool that cannot
be undone (a refusal or anything unclear never approves). A message is read clause by clause:
a clause with a negation ("don't delete my data", "I don't want a copy", "不要删除") asks for
nothing; a hedge or a question about erasure ("what happens if I delete my account?", "maybe I
should erase everything?") is explained, never acted on. Only the person's own data is ever
meant ("my", "me", "我"): "delete Jane's data" is not read as a request. Sentences exist in
English and Chinese. The corpus is tests/agents/data/privacy_phrasings.jsonl.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from agents.guided.texts import Lang

Intent = Literal["export", "erase", "explain", "negated", "both"]

# What is the person's: "my data", "my account", "everything you have on me", "我的数据".
_MY_DATA = (
    r"(?:my|all\s+my|all\s+of\s+my)\s+(?:own\s+)?(?:personal\s+)?(?:data|dat|info|infomation|"
    r"information|details|records)\b|"
    r"(?:everything|all|whatever|what(?:ever)?\s+data|what\s+information|anything)\s+"
    r"(?:(?:that\s+)?you\s+(?:have|hold|keep|store|know)\s+)?(?:on|about|of)\s+me\b|"
    r"me\b(?=\s+(?:from|out\s+of)\s+(?:your|the)\s+(?:system|database|platform|records?))"
)
# An account or profile is only ever erased as a whole; "send it to my account" asks no copy.
_MINE = _MY_DATA + r"|(?:my|all\s+my)\s+(?:personal\s+)?(?:acc?ount|acount|profile)\b"
_EXPORT_EN = re.compile(
    r"\b(?:cop(?:p)?y|coppy|export|download|downlaod|dowload|send|give|get|email|e-mail|see|"
    r"access|obtain|request|retrieve)\b[^.?!;]{0,40}?(?:" + _MY_DATA + r")|"
    r"\bwhat\s+(?:data|information|info|personal data)\s+(?:do\s+)?(?:you|omnifin)\s+"
    r"(?:have|hold|keep|store)\s+(?:on|about)\s+me\b|"
    r"\b(?:subject\s+access\s+request|data\s+access\s+request|dsar|data\s+portability)\b",
    re.I,
)
_ERASE_EN = re.compile(
    r"\b(?:delet(?:e|ing)?|dlete|deleet|eras(?:e|ing)|errase|remov(?:e|ing)|wip(?:e|ing)|"
    r"purg(?:e|ing)|destroy(?:ing)?|scrub(?:bing)?|forget|close\s+and\s+delete)\b[^.?!;]{0,40}?(?:"
    + _MINE
    + r")|"
    r"(?:" + _MINE + r")[^.?!;]{0,30}?\b(?:deleted|erased|removed|wiped|purged|destroyed|gone)\b|"
    r"\bforget\s+(?:about\s+)?me\b|\berase\s+me\b|\bdelete\s+me\b|"
    r"\bright\s+to\s+(?:be\s+forgotten|erasure)\b",
    re.I,
)
_MY_DATA_ZH = r"(?:我的|我(?:所有|全部)的?|关于我的|我本人的)(?:个人)?(?:数据|资料|信息|记录|档案)"
_MINE_ZH = _MY_DATA_ZH + r"|(?:我的|我本人的)(?:账户|账号|帐户|帐号)"
_EXPORT_ZH = re.compile(
    r"(?:导出|下载|拷贝|复制|发(?:给我|我)?|给我|寄|提供|查看|获取|索取|要)[^。？！；]{0,12}?"
    + _MY_DATA_ZH
    + r"|"
    + _MY_DATA_ZH
    + r"[^。？！；]{0,6}?(?:副本|拷贝|备份|导出|下载|发给我|给我|发我|寄给我)|"
    r"(?:你们|贵公司|平台)(?:都)?(?:有|保存|存|掌握)(?:了)?(?:我的?)?(?:哪些|什么)(?:个人)?(?:数据|信息|资料)",
)
_ERASE_ZH = re.compile(
    r"(?:删除|删掉|删了|删|清除|抹掉|抹去|销毁|注销并删除|彻底删除)[^。？！；]{0,12}?(?:"
    + _MINE_ZH
    + r"|我(?![的们]))|(?:"
    + _MINE_ZH
    + r")[^。？！；]{0,8}?(?:删除|删掉|删了|清除|抹掉|销毁)|被遗忘权|忘掉我|忘记我"
)
_NEGATION = re.compile(
    r"\b(?:don'?t|dont|do\s+not|never|not|no\s+need|without|stop|cancel|won'?t|wouldn'?t|"
    r"no\s+longer\s+want)\b|(?<!要)不要|别|不用|不想|不需要|无需|勿|并不|没有要|不必|不是要|取消",
    re.I,
)
_HEDGE = re.compile(
    r"\b(?:maybe|perhaps|thinking\s+(?:about|of)|considering|not\s+sure|might|should\s+i|"
    r"what\s+(?:happens|would\s+happen)|what\s+if|would\s+it|is\s+it\s+possible|how\s+long|"
    r"if\s+i)\b|也许|可能|考虑|要不要|是不是|会怎样|会怎么样|如果我|会发生什么",
    re.I,
)
_CLAUSES = re.compile(
    r"[.;!?。；！？,，\n]+|\bbut\b|\bthen\b|\band\s+instead\b|但是|而是|不过", re.I
)


def read_privacy_request(text: str) -> Intent | None:
    """What privacy request `text` makes, if any (see the module's docstring)."""
    export = erase = explain = negated = False
    for clause in _CLAUSES.split(text):
        wants_copy = bool(_EXPORT_EN.search(clause) or _EXPORT_ZH.search(clause))
        wants_erasure = bool(_ERASE_EN.search(clause) or _ERASE_ZH.search(clause))
        if not (wants_copy or wants_erasure):
            continue
        if _NEGATION.search(clause):
            negated = True
            continue
        if wants_erasure and _HEDGE.search(clause):
            explain = True
            continue
        export = export or (wants_copy and not wants_erasure)
        erase = erase or wants_erasure
    if export and erase:
        return "both"
    if erase:
        return "erase"
    if export:
        return "export"
    if explain:
        return "explain"
    if negated:
        return "negated"
    return None


# The reason recorded with a request made in guided mode: never the person's own words, which
# could hold personal data.
GUIDED_REASON = "Asked in the assistant (guided mode)."

_TEXTS: dict[str, tuple[str, str]] = {
    "copy": (
        "Here is what we hold about you: {records}. Download all of it as a ZIP (JSON files and "
        'your original documents) from the "Your data" page of the app, or at {link}. '
        "Downloading it is recorded.",
        "我们保存的关于您的记录：{records}。您可以在应用的“我的数据”页面或 {link} 下载全部内容"
        "（ZIP 文件，含 JSON 和您上传的原始文件）。下载会被记录。",
    ),
    "copy_empty": (
        'We hold only your account. You can download it from the "Your data" page or at {link}.',
        "我们只保存了您的账户信息。您可以在“我的数据”页面或 {link} 下载。",
    ),
    "erasure_sent": (
        "Your erasure request is sent. An administrator reviews it; nothing is erased until then, "
        'and you can follow it on the "Your data" page.',
        "您的删除申请已提交。管理员审核前不会删除任何内容，您可以在“我的数据”页面查看进度。",
    ),
    "erasure_not_sent": (
        "Understood: no erasure request was sent, and your data stays as it is.",
        "明白：没有提交删除申请，您的数据保持不变。",
    ),
    "explain": (
        "If you ask for your data to be erased, an administrator reviews the request. Once "
        "approved it cannot be undone: your profile, documents and conversations are deleted and "
        "your account is closed. What the law requires is kept under an anonymous name: credit "
        'decisions and their disclosures, the commission ledger and the audit log. Say "delete '
        'my data" if you want to ask; you can also download a copy first.',
        "如果您申请删除数据，管理员会审核。审核通过后无法撤销：您的资料、文件和对话将被删除，账户将被关闭。"
        "法律要求保留的内容（信贷决定及其披露、佣金账目、审计日志）将以匿名名称保留。"
        "如需申请，请说“删除我的数据”；您也可以先下载一份副本。",
    ),
    "negated": (
        "Understood: nothing about your data changes.",
        "明白：您的数据不会有任何变化。",
    ),
    "both": (
        "Do you want a copy of your data, or to have it erased? I can do one at a time: say "
        '"send me a copy of my data" or "delete my data".',
        "您是想要一份数据副本，还是删除数据？请一次说一件事：“给我一份我的数据”或“删除我的数据”。",
    ),
}

# The kinds of records a copy lists, in the person's words (tables not named here are counted
# under "other records").
_KINDS: dict[str, tuple[str, str]] = {
    "user_account": ("account", "账户"),
    "borrower_profile": ("profile", "个人资料"),
    "loan_application": ("applications", "申请"),
    "offer": ("offers", "报价"),
    "document": ("documents", "文件"),
    "chat_thread": ("conversations", "对话"),
    "chat_message": ("messages", "消息"),
    "consent_record": ("consents", "授权"),
    "notification": ("notifications", "通知"),
    "audit_event": ("audit log entries", "审计日志"),
}


def privacy_text(key: str, lang: Lang, **values: Any) -> str:
    english, chinese = _TEXTS[key]
    return (chinese if lang == "zh" else english).format(**values)


def copy_reply(data: dict[str, Any], lang: Lang) -> str:
    """The reply to the export tool's result: kinds and counts, never values."""
    records: dict[str, int] = dict(data.get("records") or {})
    link = str(data.get("download_path") or "")
    named = [
        f"{_KINDS[table][1 if lang == 'zh' else 0]} {count}"
        for table, count in records.items()
        if table in _KINDS and table != "user_account"
    ]
    other = sum(count for table, count in records.items() if table not in _KINDS)
    if other:
        named.append(f"其他记录 {other}" if lang == "zh" else f"other records {other}")
    if not named:
        return privacy_text("copy_empty", lang, link=link)
    return privacy_text(
        "copy", lang, records=("、" if lang == "zh" else ", ").join(named), link=link
    )
