"""Instructions aimed at the assistant rather than at the conversation's task ("ignore your
rules", fake system lines, markup, "pretend you are the lender", in English and Chinese).

Guided mode has no model to mislead, but a message that tries to is refused whole, in every
graph, so that nothing in it (not even the slot asked, a client's name or a reference) is taken:
a person who writes like an attacker is told what the assistant will not do, not half obeyed.
Checked by tests/agents/test_guided_hostile.py.
"""

from __future__ import annotations

import re

_AIMED_AT_THE_ASSISTANT = (
    r"\b(ignore|disregard|forget|override|bypass)\b[^.。]{0,40}\b(instructions?|rules|prompts?|"
    r"guidelines|restrictions|polic(y|ies)|everything)\b|\bnew instructions\b|"
    r"\bapprove (me|my|the|this)\b|\bmark [^.]{0,30}\b(approved|funded|accepted)\b|"
    r"\byou are now\b|\byou'?re now\b|\bpretend\b|\bact as\b|system prompt|"
    r"developer mode|jailbreak|(^|\n|[.;]\s*)\s*(system|assistant|developer)\s*:|"
    r"</?\s*(system|assistant|developer|user)\s*>|<\|im_(start|end)\|>|"
    r"#{2,}\s*(system|instructions?)|\[\s*(system|inst)\s*\]|"
    r"\bas (the|your) (developer|admin|administrator|system)\b|"
    r"(忽略|无视|忘掉|忘记)[^。]{0,12}(指令|指示|规则|提示|设定)|系统提示|系统指令|新的指令|你现在是|"
    r"假装|扮演|(直接)?批准(我|这|该)|标记为(已)?批准|管理员(模式|权限|身份)|开发者模式"
)

# A borrower acts only on their own file: asking about "another borrower" is refused too.
BORROWER_INSTRUCTIONS = re.compile(_AIMED_AT_THE_ASSISTANT + r"|another (borrower|user)", re.I)
# A broker acts for clients, so "another borrower" is everyday speech for them; the tools'
# scopes (own clients, own firm) decide what they may see.
BROKER_INSTRUCTIONS = re.compile(_AIMED_AT_THE_ASSISTANT, re.I)
