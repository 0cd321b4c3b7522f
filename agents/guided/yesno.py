"""Strict reading of a person's answer to an approval or consent question: yes, no or unclear.

The answer is cut into words (English by spaces, Chinese by the longest known word), each word is
given a role from a small lexicon, and the words are grouped into clauses at punctuation. Then:

- anything the lexicon does not know, any question, hedge, condition or contrast ("but", "if",
  "如果", "但是") makes the whole answer UNCLEAR: nothing unknown can ever become a yes;
- a clause that holds a negation is a refusal, unless it also holds a yes-word that the negation
  does not cover ("yes no", "ok wait, no", "好的不要"): that is mixed, hence UNCLEAR;
- YES needs every clause to be affirmative or merely polite ("yes please", "sure, go ahead",
  "好的，提交吧"); NO needs every clause to be a refusal ("no thanks", "I do not want to submit it
  yet", "不同意"). A refusal and a yes in one answer is UNCLEAR.

So a plain refusal cancels the action (NO), while anything mixed, hedged or unreadable keeps it
pending and is asked again (UNCLEAR). Sarcasm ("yeah right", "oh sure", "同意才怪") is a hedge. Polite
words and emoji alone ("please", "thanks", "👍", "嗯") are not a yes: a thumbs-up is as often "seen"
as "go ahead", and the answer approves money and credit. A negative emoji (👎, ❌) is a refusal; any
other emoji is unknown, hence UNCLEAR.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum, StrEnum


class Answer(StrEnum):
    """What an answer to a yes/no question resolves to."""

    YES = "yes"
    NO = "no"
    UNCLEAR = "unclear"


class _Role(Enum):
    YES = "yes"  # a yes-word: yes, ok, sure, 好的, 没问题
    ACT = (
        "act"  # a verb that carries the action out or grants it: submit, agree, consent, 提交, 同意
    )
    CONTENT = "content"  # words that may stand around a yes or a no: it, my application, 征信
    POLITE = "polite"  # please, thanks, um, 吧, 谢谢, 👍: never a yes on their own
    NEGATION = "negation"  # scopes over what follows in its clause: not, don't, never, 不, 没, 别
    REFUSAL = "refusal"  # a refusal on its own: no, nope, cancel, wait, hold on, later, 取消, 算了
    HEDGE = "hedge"  # maybe, I guess, not sure, 也许, 可能, 考虑一下
    QUESTION = "question"  # what, why, how, "can you", ?, 吗, 什么
    CONDITION = "condition"  # but, if, unless, only if, 但是, 如果, 只
    BREAK = "break"  # clause punctuation
    UNKNOWN = "unknown"


# fmt: off
_ENGLISH: dict[_Role, tuple[str, ...]] = {
    _Role.YES: (
        "yes", "y", "ya", "yah", "yea", "yeah", "yep", "yup", "yas", "ye", "sure", "ok", "okay",
        "k", "kk", "okey", "okie", "alright", "all right", "fine", "right", "correct", "good",
        "great", "perfect", "awesome", "cool", "excellent", "fantastic", "lovely", "wonderful",
        "brilliant", "absolutely", "definitely", "certainly", "indeed", "exactly", "precisely",
        "of course", "course", "for sure", "sure thing", "you bet", "affirmative", "roger",
        "roger that", "works", "that works", "works for me", "fine by me", "fine with me",
        "ok by me", "ok with me", "okay with me", "good by me", "im in", "count me in",
        "sign me up", "sounds good", "sounds great", "sounds fine", "looks good", "looks great",
        "looks fine", "all good", "good to go", "deal", "lgtm", "go ahead", "go for it", "go on",
        "lets go", "carry on", "make it so", "im fine with it", "im fine with that",
        "im ok with it", "im ok with that", "im okay with it", "im okay with that",
        "im good with it", "im good with that", "please do", "looks good to me",
        "sounds good to me", "fine to me", "good to me", "you may", "you can", "100 percent",
    ),
    _Role.ACT: (
        "agree", "agreed", "consent", "consented", "approve", "approved", "confirm", "confirmed",
        "accept", "accepted", "authorize", "authorise", "authorized", "authorised", "permission",
        "submit", "send", "proceed", "continue", "do", "run", "apply", "finalize", "finalise",
        "sign", "record", "create", "import", "pay", "agreeing", "consenting", "approving",
        "confirming", "accepting", "submitting", "sending",
    ),
    _Role.CONTENT: (
        "i", "you", "u", "we", "it", "its", "that", "thats", "this", "these", "them", "they", "my",
        "your", "our", "the", "a", "an", "to", "for", "with", "and", "also", "then", "so", "just",
        "he", "she",
        "now", "right now", "right away", "today", "is", "are", "am", "be", "im", "youre", "were",
        "will", "would", "can", "may", "could", "should", "shall", "have", "has", "had", "want",
        "wanna", "would like", "id like", "need", "ready", "going", "gonna", "lets", "let us",
        "make", "give", "given", "grant", "granted", "go", "ahead", "on", "all", "both", "sir",
        "maam", "mate", "application", "app", "loan", "loans", "request", "offer", "offers",
        "lender", "lenders", "credit", "check", "credit check", "pull", "inquiry", "enquiry",
        "report", "score", "soft", "hard", "payout", "batch", "statement", "terms", "draft", "full",
        "submission", "full application", "this time", "at the moment", "for now", "anymore",
        "that one", "doing", "rather", "id rather", "a second", "a sec", "a minute", "a moment",
        "one second", "one sec", "one moment", "said", "saying", "anything", "like",
        # Words that set how far the answer reaches: read by `_SCOPE` below.
        "every", "each", "everything", "everyone", "everybody", "any", "whole", "entire", "two",
        "three", "four", "five", "too", "as well", "another", "more", "rest", "other",
    ),
    _Role.POLITE: (
        "please", "pls", "plz", "pleas", "thanks", "thank you", "thankyou", "thx", "ty", "cheers",
        "um", "umm", "uh", "uhh", "er", "erm", "ah", "oh", "ohh", "well", "hey", "hi", "hello",
        "i mean", "yo", "mhm", "mm", "mmm", "uh huh", "mm hmm", "okay so", "alrighty", "dear",
        "i said", "thank u", "thanks a lot", "many thanks", "much appreciated", "appreciate it",
        "actually", "i repeat", "thats all", "that is all",
    ),
    _Role.NEGATION: (
        "not", "never", "cannot", "dont", "do not", "does not", "did not", "will not", "would not",
        "should not", "could not", "can not", "am not", "is not", "are not", "id rather not",
        "rather not", "dont think", "do not think", "cancel", "decline", "reject", "refuse", "deny",
        "withdraw", "revoke", "disagree", "withhold",
    ),
    _Role.REFUSAL: (
        "no", "nope", "nah", "naw", "n", "nay", "negative", "cancelled", "canceled", "stop", "halt",
        "abort", "wait", "hold", "hold on", "hold off", "hang on", "never mind", "nevermind", "nvm",
        "forget it", "forget about it", "later", "not now", "not yet", "yet", "tomorrow",
        "next week", "soon", "someday", "eventually", "declined", "rejected", "refused", "denied",
        "object", "changed my mind", "pass", "ill pass", "skip", "skip it", "drop it", "scrap it",
        "undo", "wrong", "incorrect", "jk", "just kidding", "absolutely not", "definitely not",
        "certainly not", "of course not", "hell no", "no way", "no thanks", "no thank you",
        "dont think so", "do not think so", "not really", "opt out", "pause", "stop it", "quit",
        "no no", "not at all", "no deal", "actually no", "scratch that", "never ever",
        "on second thought", "no consent", "withheld", "disagreed",
        # "Yeah, no" is a no: the yes-word only softens it.
        "yeah no", "yeah nah", "yea no", "ok no", "okay no", "agree to nothing",
    ),
    _Role.HEDGE: (
        "maybe", "perhaps", "probably", "possibly", "guess", "i guess", "suppose", "i suppose",
        "think", "i think", "i think so", "not sure", "im not sure", "unsure", "not certain",
        "uncertain", "dunno", "idk", "dont know", "do not know", "no idea", "dont understand",
        "do not understand", "dont get it", "confused", "hmm", "hm", "hmmm", "let me think",
        "let me check", "let me see", "let me", "kind of", "kinda", "sort of", "sorta", "might",
        "depends", "it depends", "whatever", "if you say so", "either way", "up to you",
        "you decide", "your call", "dont care", "i dont care", "not bothered", "we will see",
        "well see", "should be", "could be", "i hope", "hopefully", "seems", "i believe",
        "guess so", "think so", "i reckon", "reckon", "not 100", "not entirely", "sure i guess",
        "fine i guess", "ok i guess", "im good", "im fine", "im ok", "im okay", "i am good",
        "i am fine", "no problem", "no worries", "not a problem", "dont mind", "do not mind",
        "i dont mind", "cant wait",
        # Not objecting is not agreeing (nor refusing): asked again.
        "dont object", "do not object", "dont disagree", "do not disagree", "no objection",
        "no objections", "not opposed", "not against", "not against it",
        # Sarcasm: a yes-word that means no ("oh sure", "as if"; "yeah right" is read below).
        "oh sure", "oh right", "as if", "in your dreams", "dream on", "fat chance",
    ),
    _Role.QUESTION: (
        "what", "whats", "why", "how", "hows", "when", "whens", "where", "wheres", "which", "who",
        "whos", "whom", "whose", "huh", "eh", "pardon", "what if", "how about", "what about",
        "can you", "could you", "would you", "will you", "do you", "do i", "does it", "does that",
        "did you", "is it", "is that", "is this", "is there", "are there", "are you", "should i",
        "shall i", "can i", "could i", "may i", "do we", "is the", "are the", "explain", "mean",
        "tell me",
    ),
    _Role.CONDITION: (
        "but", "though", "although", "however", "except", "unless", "if", "only if", "as long as",
        "provided", "providing", "assuming", "once", "as soon as", "after", "before", "instead",
        "only", "until", "till", "otherwise", "or", "either", "on condition", "without",
    ),
}

_CHINESE: dict[_Role, tuple[str, ...]] = {
    _Role.YES: (
        "是", "是的", "是啊", "是呀", "对", "对的", "对啊", "对呀", "好", "好的", "好啊", "好呀",
        "好吧", "好嘞", "好滴", "行", "行啊", "行吧", "可以", "可以的", "可以啊", "没问题", "没错",
        "当然", "当然可以", "确实", "妥", "就这样", "就这么办", "来吧", "好了", "可以了", "去吧",
    ),
    _Role.ACT: (
        "同意", "确认", "确定", "提交", "授权", "接受", "批准", "继续", "发送", "发", "办", "进行",
        "执行", "开始", "签", "要", "愿意", "赞成", "认可", "允许",
    ),
    _Role.CONTENT: (
        "我", "你", "您", "的", "把", "申请", "查", "银行", "它", "这个", "那个", "这", "那", "就",
        "都", "帮我", "帮", "给", "贷款", "征信", "信用", "查询", "检查", "报告", "现在", "马上",
        "立即", "立刻", "一下", "贷方", "放款方", "机构", "想", "也", "很", "非常", "一起",
        "全部", "所有", "信息", "资料", "文件", "条款", "协议", "他们", "它们", "个", "笔", "份",
        "先", "准备", "想好", "暂且", "姑且", "报价", "方案", "产品", "无误", "需要", "暂时", "们", "次", "额度",
        "会", "能", "他", "她", "她们",
        # Scope words, read by `_SCOPE` below.
        "两", "俩", "三", "四", "五", "家", "全", "每", "各", "另外", "顺便", "还有", "其他", "别的",
    ),
    _Role.POLITE: (
        "请", "麻烦", "麻烦你", "谢谢", "谢啦", "谢了", "多谢", "了", "啊", "呀", "哈", "嘛", "哦",
        "噢", "喔", "嗯", "嗯嗯", "额", "呃", "咯", "哟", "呗", "喽", "吧", "啦",
    ),
    _Role.NEGATION: (
        "不", "没", "没有", "别", "未", "勿", "不要", "不用", "不必", "不想", "先不", "先不要",
        "还没", "暂不", "并不", "从不", "绝不", "不会", "无", "非", "不是", "不可以", "不需要",
        "不授权", "不接受", "不确认", "不同意", "不行", "不对", "不好", "取消", "拒绝", "撤回",
        "反对",
    ),
    _Role.REFUSAL: (
        "算了", "等一下", "等等", "稍等", "等会", "等会儿", "等下", "停", "停下", "不了", "否",
        "再说", "再说吧", "以后", "改天", "下次", "改主意", "还是不要", "还是算了", "拉倒", "拉倒吧",
    ),
    _Role.HEDGE: (
        "也许", "可能", "大概", "或许", "应该", "好像", "似乎", "再想想", "想想", "想一想", "考虑",
        "考虑一下", "看看", "再看看", "不确定", "不太确定", "不是很确定", "不一定", "说不定",
        "说不准", "不好说", "不知道", "不清楚", "不明白", "不懂", "不太懂", "随便", "都行",
        "都可以", "无所谓", "差不多", "还行", "看情况", "犹豫", "纠结", "估计", "我觉得", "觉得",
        "不太", "没想好", "还没想好", "也行", "也可以", "也好",
        # Sarcasm: "同意才怪", "好个屁", "想得美".
        "才怪", "个屁", "个鬼", "做梦", "想得美", "呵呵",
    ),
    _Role.QUESTION: (
        "吗", "呢", "么", "什么", "啥", "怎么", "怎样", "为什么", "为啥", "多少", "哪", "哪个",
        "哪些", "几", "是不是", "能不能", "可不可以", "要不要", "行不行", "好不好", "对不对",
        "有没有", "会不会", "意思", "如何", "谁", "是否", "告诉",
    ),
    _Role.CONDITION: (
        "但", "但是", "不过", "可是", "只是", "然而", "如果", "要是", "假如", "只要", "除非",
        "前提是", "之前", "之后", "然后", "除了", "只", "仅", "等到", "或者", "还是",
    ),
}

# fmt: on

# Emoji: a few positive ones are decoration (never a yes alone), negative ones refuse, a
# thinking face hedges; any other emoji is unknown and so makes the answer unclear.
_EMOJI: dict[str, _Role] = {
    **dict.fromkeys("👍👌✅✔🙂😊😀😃😄😁🙏👏💯🎉☺🤝❤😍🥰", _Role.POLITE),
    **dict.fromkeys("👎❌✖🚫✋🛑⛔🙅", _Role.REFUSAL),
    **dict.fromkeys("🤔🤷😕😐", _Role.HEDGE),
    **dict.fromkeys("❓❔", _Role.QUESTION),
}

_LONGEST_PHRASE = 5  # words (English) or characters (Chinese) in the longest lexicon entry


def _phrases(table: dict[_Role, tuple[str, ...]], split: bool) -> dict[tuple[str, ...], _Role]:
    lexicon: dict[tuple[str, ...], _Role] = {}
    for role, phrases in table.items():
        for phrase in phrases:
            key = tuple(phrase.replace("'", "").split()) if split else tuple(phrase)
            # First role listed wins when a phrase appears twice ("consent": a verb first).
            lexicon.setdefault(key, role)
    return lexicon


_ENGLISH_LEXICON = _phrases(_ENGLISH, split=True)
_CHINESE_LEXICON = _phrases(_CHINESE, split=False)
_ENGLISH_WORDS = {word for phrase in _ENGLISH_LEXICON for word in phrase}

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECE = re.compile(
    rf"(?P<word>[a-z0-9]+(?:'[a-z0-9]+)*'?)|(?P<cjk>[{_CJK}]+)|(?P<question>\?)"
    r"|(?P<space>\s+)|(?P<other>.)",
    re.DOTALL,
)
# Brackets and braces are not here: "[APPROVED]" or {"approved": true} is markup, not how a
# person answers, so those characters are unknown and the answer is unclear.
_BREAKS = set(',.;:!…—–-/()"、。；：！·~*')
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_WORD_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
_NEGATED_AUXILIARY = re.compile(r"n'?t$")  # don't, won't, isn't, didnt, couldnt ...
# fmt: off
_CONTRACTED_NEGATIONS = {
    "dont", "doesnt", "didnt", "wont", "wouldnt", "cant", "couldnt", "shouldnt", "isnt",
    "arent", "wasnt", "werent", "havent", "hasnt", "hadnt", "aint", "mustnt", "neednt", "shant",
}
# fmt: on


# Letters typed three or more times are tried as two ("agreeee" → "agree"), then any repeat as one.
_STRETCHED = ((re.compile(r"(.)\1{2,}"), r"\1\1"), (re.compile(r"(.)\1+"), r"\1"))


@dataclass(frozen=True)
class _Token:
    text: str
    role: _Role


def _spelling(word: str) -> str:
    """The lexicon's spelling of a typed word: apostrophes dropped, stretched letters shortened.

    "yesss" → "yes", "yeahhh" → "yeah", "nooo" → "no", "agreeee" → "agree"; a word already in
    the lexicon keeps its spelling, so "good" and "off" are not shortened to other words.
    """
    word = word.replace("'", "")
    if word in _ENGLISH_WORDS:
        return word
    for stretched, replacement in _STRETCHED:
        shortened = stretched.sub(replacement, word)
        if shortened in _ENGLISH_WORDS:
            return shortened
    return word


def _english_role(word: str, typed: str) -> _Role:
    if word in _CONTRACTED_NEGATIONS or (_NEGATED_AUXILIARY.search(typed) and "'" in typed):
        return _Role.NEGATION
    return _ENGLISH_LEXICON.get((word,), _Role.UNKNOWN)


def _english_tokens(words: list[str]) -> Iterator[_Token]:
    spelled = [_spelling(word) for word in words]
    start = 0
    while start < len(spelled):
        for length in range(min(_LONGEST_PHRASE, len(spelled) - start), 1, -1):
            phrase = tuple(spelled[start : start + length])
            if phrase in _ENGLISH_LEXICON:
                yield _Token(" ".join(phrase), _ENGLISH_LEXICON[phrase])
                start += length
                break
        else:
            yield _Token(spelled[start], _english_role(spelled[start], words[start]))
            start += 1


def _chinese_tokens(run: str) -> Iterator[_Token]:
    start = 0
    while start < len(run):
        for length in range(min(_LONGEST_PHRASE, len(run) - start), 0, -1):
            phrase = tuple(run[start : start + length])
            if phrase in _CHINESE_LEXICON:
                yield _Token("".join(phrase), _CHINESE_LEXICON[phrase])
                start += length
                break
        else:
            yield _Token(run[start], _Role.UNKNOWN)
            start += 1


def _normalise(text: str) -> str:
    # NFKC folds full-width letters and punctuation ("ＯＫ", "？", "，") into their plain forms.
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    # "uh-huh", "go-ahead": a hyphen inside a word separates words, it does not end a clause.
    return _WORD_HYPHEN.sub(" ", _INVISIBLE.sub("", text))


def _tokens(text: str) -> Iterator[_Token]:
    words: list[str] = []
    for piece in _PIECE.finditer(_normalise(text)):
        kind = piece.lastgroup
        if kind == "word":
            words.append(piece.group())
            continue
        if kind == "space" and "\n" not in piece.group():
            continue
        # Anything but a space ends a run of English words: phrases never span punctuation.
        yield from _english_tokens(words)
        words = []
        if kind == "space":
            yield _Token("\n", _Role.BREAK)  # a new line ends a clause like a full stop
        elif kind == "cjk":
            yield from _chinese_tokens(piece.group())
        elif kind == "question":
            yield _Token("?", _Role.QUESTION)
        else:
            character = piece.group()
            if character in _BREAKS:
                yield _Token(character, _Role.BREAK)
            else:
                yield _Token(character, _EMOJI.get(character, _Role.UNKNOWN))
    yield from _english_tokens(words)


def _clauses(tokens: Iterable[_Token]) -> Iterator[list[_Token]]:
    clause: list[_Token] = []
    for token in tokens:
        if token.role is _Role.BREAK:
            if clause:
                yield clause
            clause = []
        else:
            clause.append(token)
    if clause:
        yield clause


_UNREADABLE = {_Role.HEDGE, _Role.QUESTION, _Role.CONDITION, _Role.UNKNOWN}


def _action_verbs(action: str | None) -> frozenset[str]:
    """The words of the action being approved that would otherwise read as a refusal, in both
    languages: the "withdraw" and "撤回" of withdraw_application, the "reject" of
    reject_document."""
    if not action:
        return frozenset()
    words = re.findall(r"[a-z]+", action.lower())
    asked = _asked_actions(action)
    refusing = (_Role.NEGATION, _Role.REFUSAL)
    return frozenset(
        word for word in words if _ENGLISH_LEXICON.get((word,)) in refusing
    ) | frozenset(
        verb
        for verb, named in _NAMED_ACTIONS.items()
        if named in asked
        and (
            _ENGLISH_LEXICON.get((verb,)) in refusing
            or _CHINESE_LEXICON.get(tuple(verb)) in refusing
        )
    )


# Verbs that name one particular action, by the action they name. Said in answer to a question
# about ANOTHER action ("yes, submit it" when asked to withdraw), they make the answer unclear:
# an approval approves exactly the action it showed.
_NAMED_ACTIONS: dict[str, str] = {
    "submit": "submit",
    "send": "submit",
    "apply": "submit",
    "提交": "submit",
    "发送": "submit",
    "发": "submit",
    "accept": "accept",
    "接受": "accept",
    "import": "import",
    "pay": "pay",
    "create": "start",
    "start": "start",
    "开始": "start",
    "sign": "sign",
    "签": "sign",
    "withdraw": "withdraw",
    "撤回": "withdraw",
    "reject": "reject",
    "verify": "verify",
}
# The actions each tool's question is about (the words of its name, and kin).
_ACTIONS_OF_WORD: dict[str, frozenset[str]] = {
    "submit": frozenset({"submit"}),
    "accept": frozenset({"accept"}),
    "import": frozenset({"import"}),
    "approve": frozenset({"pay"}),
    "batch": frozenset({"pay"}),
    "start": frozenset({"start"}),
    "create": frozenset({"start"}),
    "withdraw": frozenset({"withdraw"}),
    "reject": frozenset({"reject"}),
    "verify": frozenset({"verify"}),
}


def _asked_actions(action: str) -> set[str]:
    asked: set[str] = set()
    for word in re.findall(r"[a-z]+", action.lower()):
        asked |= _ACTIONS_OF_WORD.get(word, frozenset())
    return asked


def _names_another_action(tokens: list[_Token], action: str | None) -> bool:
    if not action:
        return False
    asked = _asked_actions(action)
    named = {_NAMED_ACTIONS[t.text] for t in tokens if t.text in _NAMED_ACTIONS}
    return bool(named - asked)


# Scope: an approval approves exactly the action it showed, so a yes that restates a different
# or broader reach ("yes, send it to all lenders", "yes, withdraw the other one too", "是的，两家都
# 提交" when one lender was shown) approves nothing and the question is put again. A number must
# be the number of things shown ("both" for two lenders); "all", "every" or "都" stands only beside
# such a number ("两家都提交", "all three"); "too", "another" or "顺便" adds something never shown;
# a plural ("the lenders") does not fit one thing.
_SCOPE_COUNT: dict[str, int] = {
    "both": 2, "two": 2, "three": 3, "four": 4, "five": 5,
    "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
}  # fmt: skip
_SCOPE_ALL = frozenset(
    {
        "all", "every", "each", "everything", "everyone", "everybody", "any", "anything", "whole",
        "entire", "全部", "所有", "全", "每", "各", "都", "一起",
    }
)  # fmt: skip
_SCOPE_MORE = frozenset(
    {"also", "too", "as well", "another", "more", "rest", "other", "另外", "顺便", "还有", "其他",
     "别的"}
)  # fmt: skip
# A yes "for now" is a yes with an end the person has in mind: not an approval to act on.
_PROVISIONAL = frozenset({"for now", "at the moment", "for the moment", "暂时", "暂且", "姑且"})
_PLURALS = frozenset({"lenders", "loans", "applications", "offers", "batches", "statements"})


def _beyond_scope(tokens: list[_Token], targets: int | None) -> bool:
    """Whether a yes reaches further than the `targets` things the question showed (None: the
    question showed no count, as a consent or a plain question)."""
    words = {token.text for token in tokens}
    if words & (_SCOPE_MORE | _PROVISIONAL):
        return True
    counts = {_SCOPE_COUNT[word] for word in words if word in _SCOPE_COUNT}
    if counts and (targets is None or counts != {targets}):
        return True
    if words & _SCOPE_ALL and not counts:
        return True
    return targets == 1 and bool(words & _PLURALS)


# A message ending on one of these was cut off mid-thought ("yes and", "ok so", "yes, to the"):
# what would have followed is unknown, so it is not a yes.
_DANGLING = frozenset({"and", "so", "to", "for", "with", "the", "a", "an", "my", "your", "just"})


def _cut_off(tokens: list[_Token]) -> bool:
    said = [token for token in tokens if token.role not in (_Role.BREAK, _Role.POLITE)]
    return bool(said) and said[-1].text in _DANGLING


# Someone else's yes is not the person's: "they agree", "他们同意", "he says ok".
_THIRD_PERSONS = frozenset({"he", "she", "they", "他", "她", "他们", "她们"})


def _someone_else_agrees(tokens: list[_Token]) -> bool:
    said = [token for token in tokens if token.role not in (_Role.BREAK, _Role.POLITE)]
    return any(
        token.text in _THIRD_PERSONS
        and any(after.role in (_Role.YES, _Role.ACT) for after in said[index + 1 : index + 3])
        for index, token in enumerate(said)
    )


def _sarcastic(tokens: list[_Token]) -> bool:
    """A yes-word, then "right" ending its clause, a comma between or not: "yeah right",
    "sure, right.", "yeah right, withdraw it" ("right" alone, or "that's right", still agrees)."""
    previous: _Token | None = None
    for index, token in enumerate(tokens):
        if token.role is _Role.BREAK:
            continue
        closes = index + 1 == len(tokens) or tokens[index + 1].role is _Role.BREAK
        if (
            token.text == "right"
            and closes
            and previous is not None
            and previous.role is _Role.YES
            and previous.text != "right"
        ):
            return True
        previous = token
    return False


def classify_answer(text: str, *, action: str | None = None, targets: int | None = None) -> Answer:
    """YES only for an unambiguous affirmative, NO for a plain refusal, UNCLEAR for the rest.

    `action` names what is being approved (a tool name such as "withdraw_application", or its
    verb). Without it, "withdraw", "cancel" or "reject" in an answer refuse; with it, the
    action's own verb is what the person agrees to, so "yes, withdraw it" is YES for a
    withdrawal and still UNCLEAR for a submission. `targets` is how many things the question
    showed (the lenders of a submission; 1 for one application): a yes naming another number,
    "all", "too" or a plural where one thing was shown is UNCLEAR.
    """
    acting = _action_verbs(action)
    tokens = [
        _Token(token.text, _Role.ACT) if token.text in acting else token for token in _tokens(text)
    ]
    if any(token.role in _UNREADABLE for token in tokens) or _sarcastic(tokens):
        return Answer.UNCLEAR
    affirmed = refused = False
    for clause in _clauses(tokens):
        negated = clause_refuses = clause_affirms = False
        for token in clause:
            if token.role is _Role.NEGATION:
                negated = clause_refuses = True
            elif token.role is _Role.REFUSAL:
                clause_refuses = True
            elif token.role in (_Role.YES, _Role.ACT) and not negated:
                clause_affirms = True
        if clause_refuses and clause_affirms:
            return Answer.UNCLEAR  # "yes no", "ok wait no", "好的不要"
        # A clause of plain content words ("check my offers") says neither yes nor no: on its
        # own the answer stays unclear ("my application"); after a yes it only elaborates it.
        affirmed |= clause_affirms
        refused |= clause_refuses
    if refused:
        return Answer.UNCLEAR if affirmed else Answer.NO
    if affirmed and _names_another_action(tokens, action):
        return Answer.UNCLEAR  # "yes, submit it" to a withdrawal
    if affirmed and _someone_else_agrees(tokens):
        return Answer.UNCLEAR  # "they agree", "他们同意"
    if affirmed and _cut_off(tokens):
        return Answer.UNCLEAR  # "yes and", "ok so"
    if affirmed and _beyond_scope(tokens, targets):
        return Answer.UNCLEAR  # "yes, send it to all lenders" when one was shown
    return Answer.YES if affirmed else Answer.UNCLEAR


def only_answer_words(text: str) -> bool:
    """Whether `text` is a reply rather than a value: made only of words this lexicon knows as
    yes, no, polite or filler ("go ahead", "sure thing", "nope nope", "等一下"), or holding a
    hedge or a question ("idk lol", "who's asking"). Such a text is never a name, a make or a
    business's name. Plain content words alone ("Will Grant") are not a reply."""
    roles = {token.role for token in _tokens(text) if token.role is not _Role.BREAK}
    if roles & {_Role.HEDGE, _Role.QUESTION}:
        return True
    return bool(roles) and _Role.UNKNOWN not in roles and not roles <= {_Role.CONTENT}


def is_affirmative(text: str, *, action: str | None = None, targets: int | None = None) -> bool:
    """True only when `text` is an unambiguous yes (to `action`, when given)."""
    return classify_answer(text, action=action, targets=targets) is Answer.YES


def consent_answer(text: str) -> Answer:
    """How an answer to the consent question resolves: the same strict rule as an approval.

    The caller asks the consent text itself (and keeps its version); YES records consent with that
    version, NO records nothing and says that offers need consent, UNCLEAR asks the same consent
    text again. A yes to anything else ("yes, but only a soft check", "I agree if it's free")
    is not YES, so it can never be taken as consent.
    """
    return classify_answer(text)
