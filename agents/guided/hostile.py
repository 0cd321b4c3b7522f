"""Instructions aimed at the assistant rather than at the conversation's task ("ignore your
rules", fake system lines, markup, "pretend you are the lender", in English and Chinese).

Guided mode has no model to mislead, but a message that tries to is refused whole, in every
graph, so that nothing in it (not even the slot asked, a client's name or a reference) is taken:
a person who writes like an attacker is told what the assistant will not do, not half obeyed.

The patterns are matched on the message as a reader sees it, not as it is encoded: full-width
letters folded (NFKC), invisible characters dropped ("ign\u200bore"), letters that look Latin
read as Latin (Cyrillic "о", Greek "ο"), a word broken by hyphens, dots or spaces between
single letters joined ("ig-nore", "i g n o r e"), and any base64 run decoded and read too.
Checked by tests/agents/test_guided_hostile.py and its corpus data/hostile_messages.jsonl.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

_AIMED_AT_THE_ASSISTANT = (
    r"\b(ignore|disregard|forget|override|bypass)\b[^.。]{0,40}\b(instructions?|rules|prompts?|"
    r"guidelines|restrictions|polic(y|ies)|safety|limits)\b|"
    # "forget everything" aimed at the assistant; "forget everything I said about the car" is a
    # person correcting themselves.
    r"\b(ignore|disregard|forget|override|bypass)\b[^.。]{0,40}\beverything\b"
    r"(?!\s+(i|we)\s+(just\s+)?(said|told|wrote|mentioned|typed|gave|entered|asked))|"
    r"\b(ignore|disregard)\s+(all\s+)?(of\s+)?(the\s+)?above\b|"
    r"\bnew instructions\b|\bnew (rules?|task|orders)\s*:|"
    r"\bapprove (me|my|the|this)\b|\bmark [^.]{0,30}\b(approved|funded|accepted)\b|"
    r"\byou are now\b|\byou'?re now\b|\bpretend\b|\brole ?play\b|system prompt|"
    # "act as" told to the assistant; "my brother will act as guarantor" is a loan's everyday
    # speech.
    r"(^|[.!?;:,]\s*|\b(you|please|now|just|to|and)\s+)act as\b|"
    r"\bfrom now on,? (you|you'?re|your)\b|\byou (must|will) (now )?obey\b|"
    r"\b(do anything now|dan mode|god mode|debug mode)\b|\byou are dan\b|"
    r"\b(reveal|print|show|repeat|output)\b[^.?]{0,20}(\byour (system )?(prompt|instructions)|"
    r"\bthe (system )?prompt|\bthe text above)\b|"
    r"\bnote to (the )?(ai|assistant|model|bot|llm)\b|"
    r"developer mode|jailbreak|(^|\n|[.;]\s*)\s*(system|assistant|developer)\s*"
    r"(message|override|prompt|note)?\s*:|"
    r"\bsystem override\b|<<\s*/?\s*sys\s*>>|\[\s*/?\s*inst\s*\]|"
    r"</?\s*(system|assistant|developer|user)\s*>|<\|im_(start|end)\|>|"
    r"#{2,}\s*(system|instructions?)|\[\s*(system|inst)\s*\]|"
    r"\bas (the|your) (developer|admin|administrator|system)\b|"
    # Aimed at the approval and consent rules: a fake staff line, a switch to skip the question,
    # a standing yes, an approval written as data.
    r"(^|\n|[.;]\s*)\s*[\[(<]?\s*(admin|administrator|operator|moderator|system)\s*"
    r"(message|note|notice)?\s*[\])>]?\s*(:|\s-\s)|"
    r"\b(skip|bypass|disable|turn off|switch off)\s+(the\s+|all\s+|any\s+)?"
    r"(approvals?|confirmations?|consent|verification|checks?)\b|"
    r"\bauto[- ]?(approv|accept|confirm)|"
    r"\b(approve|accept|confirm)\s+(everything|anything|all (pending|future|of them|actions))|"
    r"\b(treat|take|count)\b[^.]{0,30}\b(as|like)\s+(a\s+)?yes\b|"
    r"\b(from now on|in (the )?future|automatically)\b[^.]{0,20}"
    r"\b(approve(?! of)|say yes|submit everything|accept everything)\b|"
    r"\b(approve(?! of)|submit|accept|say yes)\b[^.]{0,30}\b(automatically|from now on)\b|"
    r"[\"']?\b(approved|approval|consent(ed)?|granted)[\"']?\s*[:=]\s*[\"']?(true|yes|1)\b|"
    r"\b(change|set|update|switch)\b[^.]{0,30}\b(status|decision)\b[^.]{0,20}"
    r"\b(approved|funded|accepted)\b|"
    r"跳过(确认|审批|批准|同意|授权|验证)|不用(确认|问我)直接|默认(我)?(都)?同意|自动(批准|同意|确认|提交)|"
    r"(改成|改为|设为|设置为|标为)已?(批准|放款|通过)|"
    r"(忽略|无视|忘掉|忘记|不要理会|别管)[^。]{0,12}(指令|指示|规则|提示|设定|以上|上面|之前|前面)|"
    r"系统提示|系统指令|新的指令|新指令|新任务|新规则|你现在是|现在你是|从现在(开始|起)[,，]?你|"
    r"(^|\n|[。；;])\s*[【\[(（]?\s*(系统|管理员|开发者)\s*(消息|通知|指令|提示|公告)?\s*[】\])）:：]|没有(任何)?限制的|"
    r"假装|扮演|角色扮演|(直接)?批准(我|这|该)|标记为(已)?批准|管理员(模式|权限|身份)|开发者模式"
)


# Letters from other scripts that look like Latin ones: "іgnоre" with Cyrillic і and о.
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁɡӏһкмтвпАВЕКМНОРСТХІЈЅαεορτυνικΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdglhkmtbnABEKMHOPCTXIJSaeoptuvikABEHIKMNOPTYX",
)
_INVISIBLE = re.compile("[\u00ad\u034f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_BROKEN_WORD = re.compile(r"(?<=[a-z])[-_.*·'](?=[a-z])", re.I)
_SPACED_LETTERS = re.compile(r"(?<![a-z])[a-z](?:[ \-_.*][a-z](?![a-z])){3,}", re.I)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


def _as_read(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).translate(_LOOKALIKES)
    text = _SPACED_LETTERS.sub(lambda m: re.sub(r"[ \-_.*]", "", m.group(0)), text)
    return text


def _decoded(text: str) -> list[str]:
    """The printable text hidden in each base64 run of `text`."""
    found: list[str] = []
    for run in _BASE64.findall(text):
        try:
            raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
            plain = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if plain.isprintable() or all(c.isprintable() or c.isspace() for c in plain):
            found.append(plain)
    return found


class _Instructions:
    """`search(text)`: the first instruction aimed at the assistant in `text`, as read."""

    def __init__(self, pattern: str) -> None:
        self._pattern = re.compile(pattern, re.I)

    def search(self, text: str) -> re.Match[str] | None:
        read = _as_read(text)
        for candidate in (read, _BROKEN_WORD.sub("", read), *_decoded(read)):
            found = self._pattern.search(candidate)
            if found:
                return found
        return None


# A borrower acts only on their own file: asking about "another borrower" is refused too.
BORROWER_INSTRUCTIONS = _Instructions(_AIMED_AT_THE_ASSISTANT + r"|another (borrower|user)")
# A broker acts for clients, so "another borrower" is everyday speech for them; the tools'
# scopes (own clients, own firm) decide what they may see.
BROKER_INSTRUCTIONS = _Instructions(_AIMED_AT_THE_ASSISTANT)
