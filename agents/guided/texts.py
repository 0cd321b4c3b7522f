"""Every sentence guided mode says, in English and Chinese, with the language rules of a thread:
it follows the app's language setting when one is new or changed, the first message, an explicit
request to switch, or a message written in Chinese."""

from __future__ import annotations

import re
from typing import Any

from agents.guided.vocabulary import vocabulary
from lending.applications.requirements import requirements
from lending.commissions.explanation import STEP_TEXTS
from tools.messages import identify, render

Lang = str  # "en" or "zh"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_TO_CHINESE = re.compile(
    r"(speak|use|switch to|reply in|answer in|in)\s+(chinese|mandarin)|^\s*(chinese|mandarin)"
    r"(\s+please)?\s*[.!]?\s*$|中文|汉语|普通话|国语",
    re.IGNORECASE,
)
_TO_ENGLISH = re.compile(
    r"(speak|use|switch to|reply in|answer in|in)\s+english|^\s*english(\s+please)?\s*[.!]?\s*$|"
    r"英文|英语",
    re.IGNORECASE,
)


def detect(text: str) -> Lang:
    """Chinese when the message has two or more Chinese characters, else English."""
    return "zh" if len(_CJK.findall(text)) >= 2 else "en"


def requested(text: str) -> Lang | None:
    """A language the person explicitly asks for ("in English please", "说中文"), or None."""
    if _TO_ENGLISH.search(text):
        return "en"
    if _TO_CHINESE.search(text):
        return "zh"
    return None


def only_a_language_request(text: str) -> bool:
    """True when the message does nothing but ask for a language."""
    stripped = re.sub(
        r"(please|pls|can you|could you|speak|use|switch to|reply in|answer in|in|chinese|"
        r"mandarin|english|请|用|说|讲|中文|汉语|普通话|英文|英语|吧|好吗|可以吗|[\W_])",
        "",
        text,
        flags=re.IGNORECASE,
    )
    return not stripped.strip()


def follow(text: str, memory: dict[str, Any], setting: str | None = None) -> bool:
    """Set the thread's language from this message; True when it changed.

    `setting` is the language the person's app is set to, when the app said (the web app sends
    it with every message). It decides when the thread has no language yet or when it differs
    from the last one seen (the person switched it in the app); a "1" or a "yes" says nothing
    about a language. A request in words ("in English please") still wins, and lasts until the
    setting changes again; a message written in Chinese is answered in Chinese.
    """
    before = memory.get("lang")
    wanted = requested(text)
    if setting not in ("en", "zh"):
        setting = None
    if wanted is None:
        if setting is not None and setting != memory.get("setting"):
            wanted = setting
        elif before is None:
            wanted = detect(text)
        if (wanted or before) == "en" and detect(text) == "zh":
            wanted = "zh"  # someone writing Chinese is answered in Chinese
    if setting is not None:
        memory["setting"] = setting
    if wanted is not None:
        memory["lang"] = wanted
    return before is not None and memory.get("lang") != before


_TEXTS: dict[str, tuple[str, str]] = {
    "news_none": ("Nothing new since you last looked.", "自您上次查看以来没有新消息。"),
    "news_some": ("Here is what's new:", "以下是新消息："),
    "broker_remind_who": (
        'Which client should I remind? Say their name, e.g. "remind Riley to upload her pay stub".',
        "要提醒哪位客户？请说出客户的名字，例如“提醒 Riley 上传工资单”。",
    ),
    "broker_remind_declined": (
        "All right, I won't send any reminder.",
        "好的，我不会发送任何提醒。",
    ),
    "broker_reminded": (
        "Done: I reminded the client about {items} for {reference} (a notification and an e-mail).",
        "已完成：我已就申请 {reference} 提醒客户提交{items}（应用内通知和电子邮件）。",
    ),
    "broker_remind_off": (
        "The client has turned these reminders off, so nothing was sent for {reference}.",
        "该客户已关闭此类提醒，因此没有为申请 {reference} 发送任何内容。",
    ),
    "greeting": (
        "Hello! I'm Omni, Omnifin's loan assistant.",
        "您好！我是 Omnifin 的贷款助手 Omni。",
    ),
    "guided_note": (
        "(Guided mode: I follow a set of questions, but you can answer in your own words, give "
        "several answers at once, correct anything, or ask me a question at any point.)",
        "（引导模式：我会按顺序提问，但您可以用自己的话回答、一次提供多项信息、随时更正，或随时向我提问。）",
    ),
    "which_product": ("What kind of loan are you looking for?", "您想申请哪种贷款？"),
    "started": ("I've started your application {reference}.", "我已为您创建申请 {reference}。"),
    "took": ("Got it: {items}.", "已记下：{items}。"),
    "changed": ("Changed: {items}.", "已更改：{items}。"),
    "noted": ("noted", "已记录"),
    "didnt_read": (
        "Sorry, I couldn't read that as an answer.",
        "抱歉，我没能从这句话里读出答案。",
    ),
    "did_you_mean": (
        "Did you mean {options}? (yes, or say which)",
        "您是指{options}吗？（回答“是”，或告诉我是哪一个）",
    ),
    "or": (" or ", "还是"),
    "answer_with_number": (
        "Which one? Answer with its number, 1 to {count}, or its name.",
        "请问选哪一个？请回答编号（1 到 {count}）或名称。",
    ),
    "tool_failed": ("That didn't work: {message}", "没有成功：{message}"),
    "injection": (
        "I can't do that. Lenders make every credit decision, and I only act on your own "
        "application, within what you've asked for.",
        "我不能这样做。所有信贷决定都由贷款机构做出，我只会在您要求的范围内处理您自己的申请。",
    ),
    "amount_check": (
        "Is {amount} the amount you'd like to borrow? (yes or no)",
        "{amount} 是您想借的金额吗？（请回答“是”或“不是”）",
    ),
    "amount_not_taken": (
        "Understood, I haven't used it as the loan amount.",
        "明白，我没有把它当作贷款金额。",
    ),
    "broker_injection": (
        "I can't do that. Lenders make every credit decision, and I act only for your own "
        "clients, within what you've asked for.",
        "我不能这样做。所有信贷决定都由贷款机构做出，我只会在您要求的范围内为您自己的客户办理。",
    ),
    "consent_question": (
        'To show you offers I need your consent: "{text}" Do you agree? (yes or no)',
        "为了向您展示报价，我需要您的同意。同意书内容（中文译文）：“{translation}” 英文原文（版本 {version}）："
        "“{text}” 您同意吗？（请回答“同意”或“不同意”）",
    ),
    "consent_unclear": (
        "I need a clear yes or no to this exact consent before I can check offers.",
        "在查询报价之前，我需要您对这份同意书给出明确的“同意”或“不同意”。",
    ),
    "consent_refused": (
        "Understood: I haven't recorded any consent and nothing was checked. Without it I can't "
        "prequalify you, but you can still ask me questions, change your application, check its "
        'status, or talk to a person. Say yes whenever you\'re ready to agree to: "{text}"',
        "明白：我没有记录任何同意，也没有做任何查询。没有同意我无法为您预审，但您仍然可以向我提问、"
        "修改申请、查看进度，或联系真人客服。准备好同意以下内容（中文译文）时随时回答“同意”即可："
        "“{translation}” 英文原文（版本 {version}）：“{text}”",
    ),
    "offers_intro": ("Here are your offers:", "以下是您的报价："),
    "offer_line": (
        "{n}. {lender}: {amount} over {term} months, APR {apr}% (note rate {rate}%), {payment} a "
        "month, total cost {total}, fees {fees}{marks}",
        "{n}. {lender}：{amount}，期限 {term} 个月，年化利率（APR）{apr}%（票面利率 {rate}%），"
        "每月还款 {payment}，总成本 {total}，费用 {fees}{marks}",
    ),
    "lowest_apr": (
        "The lowest APR is option {n}, {lender}: APR {apr}%, {payment} a month.",
        "年利率（APR）最低的是第 {n} 个，{lender}：APR {apr}%，每月 {payment}。",
    ),
    "lowest_payment": (
        "The lowest monthly payment is option {n}, {lender}: {payment} a month (APR {apr}%).",
        "月供最低的是第 {n} 个，{lender}：每月 {payment}（APR {apr}%）。",
    ),
    "offers_firm": (
        "These are firm offers. Which one would you like to accept? (number)",
        "这些是正式报价。您想接受哪一个？（请回答编号）",
    ),
    "offers_prequalified": (
        "These are prequalified estimates (a soft check; your score is not affected). Which "
        "lender would you like to apply to? (number)",
        "这些是预审估算（软查询，不影响您的信用分）。您想向哪家贷款机构提交申请？（请回答编号）",
    ),
    "submitted": (
        "Done: application {reference} was sent to the lender. The lender will review it and "
        "make a firm decision; ask me for the status any time.",
        "完成：申请 {reference} 已发送给贷款机构。对方会审核并做出正式决定；您可以随时问我进度。",
    ),
    "accepted": (
        "Congratulations: you accepted the offer. The lender will contact you to finish the "
        "loan; the other offers are now declined.",
        "恭喜：您已接受该报价。贷款机构会联系您完成放款；其他报价已自动放弃。",
    ),
    "not_approved": ("Understood: nothing was done.", "明白：什么都没有执行。"),
    "status": ("Application {reference} is {status}.", "申请 {reference} 的状态：{status}。"),
    "still_needed": ("Still needed: {items}.", "还需要：{items}。"),
    "nothing_needed": (
        "I have everything the application needs.",
        "申请所需的信息已经齐全。",
    ),
    "consent_needed": ("your consent to a soft credit check", "您对软性信用查询的同意"),
    "how_can_i_help": ("How can I help with your application?", "关于您的申请，我还能帮您做什么？"),
    "no_offers": (
        "No lender could make an offer for these details. Why: {why}",
        "按目前的信息，没有贷款机构能给出报价。原因：{why}",
    ),
    "no_offers_again": (
        "Still no offers for the current details ({why}).",
        "按目前的信息仍然没有报价（{why}）。",
    ),
    "ways_on": (
        'What would work: {ways}. Or say "talk to a person".',
        "可行的办法：{ways}。或者说“转人工”。",
    ),
    "nudge_ways": (
        "I can't get offers without a change. {ways}.",
        "不做调整就无法获得报价。可行的办法：{ways}。",
    ),
    "nudge_examples": (
        'To try again, tell me what to change, e.g. "make it 20k", "make it 60 months", "a '
        'personal loan instead", or say "talk to a person".',
        "想再试一次，请告诉我要改什么，例如“改成两万”“期限改成 60 个月”“换成个人贷款”，或说“转人工”。",
    ),
    "nudge_why": (
        "Nothing has changed yet, so the reason still stands: {why}. Ask me anything, or change "
        "the amount, the term or the kind of loan.",
        "目前还没有任何改动，所以原因不变：{why}。您可以问我任何问题，或修改金额、期限或贷款种类。",
    ),
    "way_amount": (
        'a smaller amount, up to {amount} (say e.g. "make it {example}")',
        "把金额降到 {amount} 以内（例如说“改成 {example}”）",
    ),
    "way_amount_up": ("an amount of at least {amount}", "金额至少 {amount}"),
    "way_term": ("a term of {span}", "期限改为 {span}"),
    "way_payment": (
        "a smaller amount or a longer term, so the monthly payment is lower",
        "降低金额或延长期限，让月供更低",
    ),
    "way_product": ("another kind of loan, such as {products}", "换一种贷款，例如{products}"),
    "way_broker": (
        "a broker, who can look for lenders outside this list",
        "找一位贷款经纪人帮您寻找其他贷款机构",
    ),
    "reason_amount_high": (
        "the amount is above every lender's maximum for this loan ({amount} at most)",
        "金额超过了所有贷款机构对此类贷款的上限（最多 {amount}）",
    ),
    "reason_amount_low": (
        "the amount is below the lenders' minimum ({amount} at least)",
        "金额低于贷款机构的最低额度（至少 {amount}）",
    ),
    "reason_term": (
        "that term isn't offered (lenders offer {span})",
        "没有贷款机构提供这个期限（可选 {span}）",
    ),
    "reason_dti": (
        "the monthly payment would be too high for your income",
        "相对您的收入，月供会过高",
    ),
    "reason_credit": (
        "your stated credit score is below what these lenders require",
        "您填写的信用分低于这些贷款机构的要求",
    ),
    "reason_state": ("these lenders don't lend in your state", "这些贷款机构不在您所在的州放贷"),
    "reason_purpose": ("these lenders don't finance that purpose", "这些贷款机构不为该用途放贷"),
    "reason_income": (
        "your income is below the lenders' minimum",
        "您的收入低于贷款机构的最低要求",
    ),
    "reason_vehicle": (
        "the vehicle is older or has more miles than the lenders finance",
        "车辆的车龄或里程超出了贷款机构的范围",
    ),
    "reason_ltv": (
        "the loan is too large compared with the value of what secures it",
        "相对于抵押物的价值，贷款金额过高",
    ),
    "reason_business": (
        "the business is too young or its revenue too low for these lenders",
        "企业经营年限或营收未达到这些贷款机构的要求",
    ),
    "reason_pricing": (
        "the lenders can't price a loan on these terms",
        "贷款机构无法按这些条件给出定价",
    ),
    # The lender's own words are English; in Chinese they are not quoted.
    "reason_other": ("{message}", "您的信息不符合这些贷款机构的条件"),
    "kb_answer": ("{answer} (Source: {citation})", "{answer}（来源：{citation}）"),
    "kb_none": (
        "I don't have an answer to that in Omnifin's knowledge base. A person can help: say "
        '"talk to a person".',
        "Omnifin 的知识库里没有这个问题的答案。真人客服可以帮您：请说“转人工”。",
    ),
    "why_intro": ("Why I ask for {label}: ", "为什么需要{label}："),
    "handoff": (
        "I've recorded that you'd like to talk to a person{about}; the Omnifin team{broker} can "
        "see your request and your conversation. Meanwhile I can keep going with your "
        "application whenever you like.",
        "我已记录您希望与真人沟通{about}；Omnifin 团队{broker}可以看到您的请求和对话记录。在此期间，"
        "您随时可以继续和我完成申请。",
    ),
    "handoff_about": (" about {reference}", "（申请 {reference}）"),
    "handoff_broker": (" and your broker", "和您的经纪人"),
    "go_back": ("Sure, let's go back.", "好的，我们回到上一步。"),
    "nothing_to_go_back": (
        "There's no earlier question to go back to.",
        "没有可以返回的上一个问题。",
    ),
    "switched": ("I'll continue in English.", "好的，我接下来用中文和您交流。"),
    "resume": ("Back to your application: {question}", "继续您的申请：{question}"),
    "read_application_failed": (
        "I couldn't read your application: {message}",
        "无法读取您的申请：{message}",
    ),
    "attached": (
        "I've added {filename} to your application; it is being read now.",
        "我已将 {filename} 添加到您的申请中，正在读取。",
    ),
    "attached_duplicate": (
        "{filename} is already on your application.",
        "{filename} 已经在您的申请中。",
    ),
    "a_year": ("a year", "每年"),
    "a_month": ("a month", "每月"),
    # The broker's guided mode (agents/broker/policy.py).
    "broker_help": (
        "I'm in guided mode, so I understand a few requests:\n"
        '- "start an application for my client (client@example.com), $25k auto, 60 months" (or '
        "in pieces: I'll ask for what is missing and confirm before starting)\n"
        '- "my newest file", "Riley\'s application", "the auto loan for Jane"\n'
        '- "what is missing on OMF-2026-000123" or "status of OMF-2026-000123"\n'
        '- "which of my clients have offers expiring this week"\n'
        '- "how much commission did I earn in October and why"\n'
        '- "list my clients\' applications"\n'
        '- "remind Riley to upload her pay stub"\n'
        '- "anything new?"\n'
        "For anything else, use the pipeline in the web app.",
        "我现在处于引导模式，能理解以下几类请求：\n"
        "- “帮我给客户 client@example.com 申请一笔两万五的车贷，60个月”（也可以分几次说："
        "我会询问缺少的信息，并在创建之前请您确认）\n"
        "- “我最新的档案”“Riley 的申请”“Jane 的车贷”\n"
        "- “OMF-2026-000123 还缺什么”或“OMF-2026-000123 的状态”\n"
        "- “哪些客户的报价这周到期”\n"
        "- “我十月赚了多少佣金，为什么”\n"
        "- “列出我客户的申请”\n"
        "- “提醒 Riley 上传工资单”\n"
        "- “有什么新消息吗”\n"
        "其他事情请使用网页应用中的业务管道页面。",
    ),
    "broker_what_now": (
        'What can I do for you? (say "help" for what I understand)',
        "有什么可以帮您？（说“帮助”可以查看我能理解的请求）",
    ),
    "broker_which_client": (
        'Which client is it for? I need the client\'s e-mail address (e.g. "client@example.com"), '
        'or say "cancel".',
        "是给哪位客户的？我需要客户的电子邮箱（例如“client@example.com”），或者说“取消”。",
    ),
    "broker_which_loan": ("What kind of loan is it? {menu}", "是哪种贷款？{menu}"),
    "broker_which_terms": (
        'How much, and over how many months? (e.g. "25k over 60 months"; or say "skip" to start '
        "without them)",
        "金额是多少、分多少个月还？（例如“两万五，60个月”；也可以说“跳过”，先不填）",
    ),
    "broker_which_amount": (
        'How much? (e.g. "25k"; or say "skip" to start without it)',
        "金额是多少？（例如“两万五”；也可以说“跳过”，先不填）",
    ),
    "broker_which_term": (
        'Over how many months? (e.g. "60 months"; or say "skip" to start without it)',
        "分多少个月还？（例如“60个月”；也可以说“跳过”，先不填）",
    ),
    "broker_cancelled": ("Cancelled: I haven't started anything.", "已取消：我没有创建任何申请。"),
    "broker_not_a_client": (
        "{email} is not one of your clients, so I can't start an application for them. Check "
        "the address, or ask them to sign up through your referral link.",
        "{email} 不是您的客户，所以我无法为其创建申请。请检查邮箱地址，或请对方通过您的推荐链接注册。",
    ),
    "broker_started": (
        "I started {reference} for {client}: {loan}.",
        "我已为{client}创建申请 {reference}：{loan}。",
    ),
    "broker_loan": ("{article} {product} loan", "一笔{product}"),
    "broker_loan_amount": (" of {amount}", "，金额 {amount}"),
    "broker_loan_term": (" over {months} months", "，期限 {months} 个月"),
    "broker_still_missing": ("Still missing: {items}.", "还缺：{items}。"),
    "broker_missing": ("Missing: {items}.", "还缺：{items}。"),
    "broker_nothing_missing": (
        "Nothing is missing for submission.",
        "提交所需的信息已经齐全。",
    ),
    "broker_documents_missing": ("Documents still needed: {items}.", "还需要的文件：{items}。"),
    "your_applications": ("You have {count} applications open:", "您有 {count} 份进行中的申请："),
    "application_line": (
        "{number}. {reference}: {product}, {status}",
        "{number}. {reference}：{product}，{status}",
    ),
    "which_application": (
        "Which one do you mean? Say its reference or its number.",
        "您指的是哪一份？请说编号或序号。",
    ),
    "draft_found": (
        "You have a draft {product} application, {reference}; let's continue it.",
        "您有一份{product}草稿申请 {reference}，我们继续填写。",
    ),
    "draft_found_broker": (
        "Your broker started a draft {product} application for you, {reference}; "
        "let's continue it.",
        "您的经纪人已为您创建了一份{product}草稿申请 {reference}，我们继续填写。",
    ),
    "draft_kept": (
        "(Your draft {product} application {reference} stays as it is.)",
        "（您的{product}草稿申请 {reference} 保持不变。）",
    ),
    "your_drafts": ("You have {count} draft applications:", "您有 {count} 份草稿申请："),
    "which_draft": (
        'Which one shall we continue? Say its reference or its number, or say "new" to start '
        "a new application.",
        "要继续哪一份？请说编号或序号，或说“新申请”开始一份新的申请。",
    ),
    "broker_documents_complete": (
        "Every required document is in.",
        "所需文件都已收到。",
    ),
    "broker_status": ("{reference} is {status}.", "{reference} 的状态：{status}。"),
    "broker_no_such_reference": (
        "I can't find {reference} among your clients' files.",
        "在您客户的档案中找不到 {reference}。",
    ),
    "broker_no_such_file": (
        "I can't find a file like that among your clients' applications.",
        "在您客户的申请中找不到符合描述的档案。",
    ),
    "broker_several_files": (
        "Several files match; which one? Say its reference.",
        "有多份档案符合描述；是哪一份？请告诉我编号。",
    ),
    "broker_file_line": (
        "- {reference}: {name}, {product}, {status}",
        "- {reference}：{name}，{product}，{status}",
    ),
    "broker_no_expiring": (
        "None of your clients has an offer expiring in the next {days} days.",
        "未来 {days} 天内，您的客户没有即将到期的报价。",
    ),
    "broker_expiring": (
        "Offers expiring in the next {days} days:",
        "未来 {days} 天内到期的报价：",
    ),
    "broker_expiring_line": (
        "- {name}, {reference}: {lender}, {apr}% APR, {payment}/month for {term} months ({kind}), "
        "expires {expires} UTC",
        "- {name}，{reference}：{lender}，年化利率（APR）{apr}%，每月 {payment}，期限 {term} 个月"
        "（{kind}），到期时间 {expires}（UTC）",
    ),
    "broker_no_pipeline": ("You have no client applications yet.", "您的客户还没有任何申请。"),
    "broker_pipeline": ("Your clients' applications:", "您客户的申请："),
    "broker_pipeline_line": (
        "{reference}: {status}, {product}",
        "{reference}：{status}，{product}",
    ),
    "broker_period_month": ("in {month}", "在{month}"),
    "broker_period_span": ("from {start} to {end}", "在 {start} 至 {end} 期间"),
    "broker_period_all": ("so far", "迄今"),
    "broker_no_commission": ("You have no commission {period}.", "您{period}没有佣金。"),
    "broker_you": ("You", "您"),
    "broker_earned": (
        "{who} earned {earned} {period}: {breakdown}.",
        "{who}{period}共赚取 {earned}：{breakdown}。",
    ),
    "broker_accrued": ("{amount} accrued", "应计 {amount}"),
    "broker_clawed_back": ("{amount} clawed back", "追回 {amount}"),
    "broker_adjusted": ("{amount} in adjustments", "调整 {amount}"),
    "broker_paid": ("{amount} paid out {period}", "{period}已支付 {amount}"),
    "broker_entries": (
        "That is {count} ledger {entries}.",
        "共 {count} 条账目记录。",
    ),
    "broker_why_all": ("Why, biggest first:", "原因（按金额从大到小）："),
    "broker_why_top": (
        "Why, for the {shown} biggest of {lines} lines:",
        "原因（{lines} 条中金额最大的 {shown} 条）：",
    ),
    "broker_why_line": (
        "{n}. {amount} ({kind}, {date}): {text}",
        "{n}. {amount}（{kind}，{date}）：{text}",
    ),
}

# The ledger's explanation steps in Chinese, one per key of lending/commissions/explanation.py
# (STEP_TEXTS), with the same values: the figures are the ledger's own strings, never recomputed.
LEDGER_STEPS_ZH: dict[str, str] = {
    "loan": "贷款 {reference}（{borrower}），于 {funded_on} 放款 {amount} {currency}。",
    "rule": (
        "规则“{name}”（{scope}级，{jurisdiction}）第 {version} 版，自 {effective_from} 起生效："
        "这是事件发生当天适用的最具体的规则。"
    ),
    "upfront": "前期佣金：{basis_kind} {basis} 的 {percent}% = {part}（四舍五入到分）。",
    "upfront_flat": (
        "前期佣金：{basis_kind} {basis} 的 {percent}% = {part}（四舍五入到分），加固定金额 {flat}"
        " = {before}。"
    ),
    "upfront_bonus": (
        "前期佣金：{basis_kind} {basis} 的 {percent}% = {part}（四舍五入到分），加业绩奖金 {bonus}"
        "（经纪人当月第 {loan_in_month} 笔贷款）= {before}。"
    ),
    "upfront_flat_bonus": (
        "前期佣金：{basis_kind} {basis} 的 {percent}% = {part}（四舍五入到分），加固定金额 {flat}，"
        "再加业绩奖金 {bonus}（经纪人当月第 {loan_in_month} 笔贷款）= {before}。"
    ),
    "cap_floor": "按上限 {cap} / 下限 {floor} 调整后：{total}。",
    "trail": (
        "{month} 的持续佣金：未偿余额 {basis} 的年费率 {percent}% ÷ 12（四舍五入到分）= {total}。"
    ),
    "trail_net": (
        "{month} 的持续佣金：扣除抵消账户后的未偿余额 {basis} 的年费率 {percent}% ÷ 12"
        "（四舍五入到分）= {total}。"
    ),
    "split": "分成：{party}（{payee}）获得 {total} 的 {percent}% = {amount}（最大余数法）。",
    "split_remainder": (
        "分成：{party}（{payee}）获得 {total} 的 {percent}% = {amount}（含一分余数，最大余数法）。"
    ),
    "clawback": (
        "追回：该贷款在第 {loan_month} 个贷款月{reason}；按规则的追回表，退回前期佣金账目 #{entry}"
        "（{accrued}）的 {percent}% = {amount}。"
    ),
    "payout": "已在批次 {batch} 中支付给{payee}（付款编号 {payment_reference}），结清 {entries} 条账目。",
    "adjustment": "为{payee}调整：{reason}。",
    "reversal": "为{payee}冲销：{reason}。",
    "tax": "税 {rate}%：{tax}；合计 {total} {currency}。",
    "tax_unrated": "税：{tax}；合计 {total} {currency}。",
    "total": "合计 {total} {currency}。",
}
# Words inside the steps that are the ledger's codes, in Chinese.
_LEDGER_WORDS_ZH = {
    "funded_amount": "放款金额",
    "drawn_net_of_offset": "扣除抵消账户后的已提款金额",
    "outstanding_balance": "未偿余额",
    "platform": "平台",
    "firm": "经纪公司",
    "broker": "经纪人",
    "referrer": "推荐人",
    "lender": "贷款机构",
    "product": "产品",
    "discharged": "已结清",
    "refinanced": "已再融资",
    "USD": "美元",
}
_LEDGER_CODES = frozenset({"basis_kind", "party", "scope", "reason", "currency"})

# Words the broker's replies use for ledger entry kinds and offer kinds, in Chinese.
_ENTRY_KIND_ZH = {
    "accrual": "应计",
    "clawback": "追回",
    "adjustment": "调整",
    "reversal": "冲销",
    "payout": "支付",
}
_OFFER_KIND_ZH = {"prequalified": "预审报价", "firm": "正式报价"}


def ledger_steps(parts: list[dict[str, Any]], lang: Lang) -> str:
    """An explanation's steps in `lang`, from its keys and values (figures as the ledger wrote)."""
    if lang != "zh":
        return " ".join(STEP_TEXTS[part["key"]].format(**part["values"]) for part in parts)
    said = []
    for part in parts:
        values = {
            name: _LEDGER_WORDS_ZH.get(value, value) if name in _LEDGER_CODES else value
            for name, value in part["values"].items()
        }
        said.append(LEDGER_STEPS_ZH[part["key"]].format(**values))
    return "".join(said)


def entry_kind(kind: str, lang: Lang) -> str:
    return _ENTRY_KIND_ZH.get(kind, kind) if lang == "zh" else kind


def offer_kind(kind: str, lang: Lang) -> str:
    return _OFFER_KIND_ZH.get(kind, kind) if lang == "zh" else kind


# The credit-check consent in Chinese, shown beside the English text whose version is recorded.
CONSENT_TRANSLATIONS = {
    "credit_check": "我授权 Omnifin 及我选择的贷款机构获取我的信用报告和信用分。预审使用不影响信用分的软性查询；"
    "只有在我选择向某家贷款机构提交申请后，该机构才可以进行硬性查询。"
}

_STATUS_ZH = {
    "draft": "草稿",
    "submitted": "已提交",
    "in_review": "审核中",
    "referred": "待补充",
    "approved": "已批准",
    "conditionally approved": "有条件批准",
    "declined": "已拒绝",
    "withdrawn": "已撤回",
    "funded": "已放款",
    "accepted": "已接受",
}


def say_text(key: str, lang: Lang, **values: Any) -> str:
    english, chinese = _TEXTS[key]
    return (chinese if lang == "zh" else english).format(**values)


def status_words(status: str, lang: Lang) -> str:
    plain = status.replace("_", " ")
    return _STATUS_ZH.get(plain, plain) if lang == "zh" else plain


def field_label(field: str, lang: Lang) -> str:
    if lang == "zh":
        zh = vocabulary().fields.get(field, {}).get("zh_label")
        if zh:
            return zh
    spec = requirements().fields.get(field)
    return spec.label if spec is not None else field.replace("_", " ")


def field_question(field: str, lang: Lang) -> str:
    if lang == "zh":
        zh = vocabulary().fields.get(field, {}).get("zh_question")
        if zh:
            return zh
    spec = requirements().fields.get(field)
    return spec.question if spec is not None else field.replace("_", " ")


def option_label(code: str, lang: Lang, *, product: bool = False) -> str:
    words = vocabulary()
    option = words.products.get(code) if product else None
    return (option or words.option(code)).label(lang)


def menu(codes: list[str] | tuple[str, ...], lang: Lang, *, product: bool = False) -> str:
    separator = "；" if lang == "zh" else "; "
    return separator.join(
        f"{number}. {option_label(code, lang, product=product)}"
        for number, code in enumerate(codes, start=1)
    )


def join(items: list[str], lang: Lang) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


# Tool errors in the conversation's language. A tool's error is English (what the API, the logs
# and a model read) with a message key (tools/error_messages.json); in Chinese the key's Chinese
# template is said, with the values in it put into Chinese where they are words we know
# (statuses, field names, products). Field-level problems are listed field by field.
_STATUS_PARAMS = frozenset({"status", "requested", "expected", "state"})


def _zh_param(name: str, value: str, detail: Any) -> str:
    if name in _STATUS_PARAMS:
        return status_words(value, "zh")
    if name == "allowed":
        return "、".join(status_words(part.strip(), "zh") for part in value.split(","))
    if name == "fields" and isinstance(detail, dict):
        missing = detail.get("missing_fields")
        if isinstance(missing, list) and missing:
            return "、".join(
                field_label(str(item.get("name")), "zh")
                for item in missing
                if isinstance(item, dict)
            )
    if name in ("product", "actual", "requested") and value in vocabulary().products:
        return option_label(value, "zh", product=True)
    return value


def _problem_text(problem: dict[str, Any], lang: Lang) -> str:
    loc = [str(part) for part in problem.get("loc") or [] if not isinstance(part, int)]
    names = [part for part in loc if part not in ("body", "query", "slots", "arguments")]
    field = names[-1] if names else ""
    msg = str(problem.get("msg") or "")
    if lang != "zh":
        return f"{field_label(field, lang).lower()}: {msg}" if field else msg
    found = identify(msg)
    said = (
        render(found.key, {k: _zh_param(k, v, None) for k, v in found.params.items()}, "zh")
        if found is not None and found.key.startswith("field.")
        else "取值无效"
    )
    return f"{field_label(field, 'zh')}：{said}" if field else said


def say_error(body: dict[str, Any], lang: Lang) -> str:
    """What a failed tool call says, in `lang`; `body` is the error's payload (kind, message,
    key, detail)."""
    message = str(body.get("message") or "")
    detail = body.get("detail")
    if lang != "zh":
        return message or render("error.internal", {}, "en")
    found = identify(message)
    if found is not None:
        text = render(
            found.key, {k: _zh_param(k, v, detail) for k, v in found.params.items()}, "zh"
        )
    else:
        text = render(str(body.get("key") or "error.internal"), {}, "zh")
    problems = (
        [item for item in detail if isinstance(item, dict)] if isinstance(detail, list) else []
    )
    if problems and found is not None and found.key == "tool.invalid_arguments":
        text = render("tool.invalid_arguments", {"summary": ""}, "zh")
    if problems:
        listed = "；".join(_problem_text(item, "zh") for item in problems[:5])
        text = text.rstrip("。：: ") + "：" + listed + "。"
    return text
