"""Several answers from one message: "I'm Dana Whitfield, born 12 April 1988, I earn 96k and rent
for 1,450" fills name, date of birth, income and housing payment at once.

Each value is taken only next to words that say what it is (a cue), or as the answer to a
question just asked; an amount nobody can place is left alone rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agents.guided.answers import answer, find_address
from agents.guided.meaning import by_words, options_for
from agents.guided.parser import (
    _AMOUNT,
    parse_amount,
    parse_date,
    parse_phone,
    parse_ssn,
    parse_term_months,
    spelled_numbers,
)
from agents.guided.yesno import only_answer_words

_TOKEN = re.compile(r"\[(SSN|DOB)-\d+\]")
_MONTHLY = re.compile(
    r"\b(a|per|each|every|/)\s*(month|mo)\b|monthly|每月|每个月|一个月|月薪|/月", re.I
)
_CORRECTION = re.compile(
    r"\b(actually|sorry|correction|i meant|i mean|change|make it|instead|update|wrong|oops|"
    r"should (be|have been))\b|\bnot\s+\$?\d|改成|改为|不是|更正|其实|应该是|写错|说错",
    re.I,
)
# Cues before (or just after) an amount that say which field it is.
_MONEY_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "annual_income",
        re.compile(
            r"\b(earn|earning|make|making|made|income|salary|paid|gross|bring (in|home)|take home)\b"
            # "self-employed, about 6k a month": what a job brings in, said with the job.
            r"|\b((self[- ]?)?employed|freelanc\w*|my job|work(ing)? (as|at|for)|full[- ]time|"
            r"part[- ]time)\b"
            r"|收入|年薪|月薪|工资|挣|赚",
            re.I,
        ),
    ),
    (
        "monthly_housing_payment",
        re.compile(
            r"\b(rent|renting|housing|mortgage (payment|is)|my mortgage)\b|房租|租金|房贷|月供|"
            # "mortgage 2100 monthly": a mortgage with a monthly amount is a payment, while
            # "a mortgage for 300k" is the loan asked for.
            r"\bmortgage(?=\s*(of|is|:)?\s*\$?\s*\d[\d,.]*\s*k?\s*(a month|per month|/\s*mo|"
            r"monthly|each month|every month))",
            re.I,
        ),
    ),
    (
        "debts_to_consolidate",
        re.compile(
            r"\b(consolidat\w*|in (credit )?card debt|in debt|total debt|owe in total|"
            r"of (credit card )?debt)\b|债务总额|要整合|欠了|欠款",
            re.I,
        ),
    ),
    (
        "monthly_debt_payments",
        re.compile(
            r"\b(debts?|cards?|car payment|loan payments?|other loans|minimum payments?)\b|负债|债务|还款|信用卡",
            re.I,
        ),
    ),
    (
        "business_annual_revenue",
        re.compile(r"\b(revenue|sales|turnover)\b|营收|营业额|销售额", re.I),
    ),
    (
        "student_loan_balance",
        re.compile(
            r"\b(student loans?|school loans?)\b.{0,25}\b(owe|balance|total|left)|"
            r"\b(owe|balance)\b.{0,25}\bstudent|学生贷款|学贷|助学贷款",
            re.I,
        ),
    ),
    (
        "existing_mortgage_balance",
        re.compile(r"\b(owe|balance|left)\b.{0,20}\bmortgage|mortgage balance|房贷余额|还欠", re.I),
    ),
    ("property_value", re.compile(r"\b(worth|valued|appraised|value)\b|估值|价值|值", re.I)),
    (
        "purchase_price",
        re.compile(r"\b(purchase price|buying (it )?for|price is|asking)\b|成交价|购买价", re.I),
    ),
    (
        "vehicle_value",
        re.compile(r"\b(worth|value|price|costs?|asking|sticker)\b|价格|价值|值", re.I),
    ),
    (
        "amount",
        re.compile(
            r"\b(borrow|loan of|loan for|need|looking for|request|amount|make it|want)\b|借|贷款金额|贷|要|改成|改为",
            re.I,
        ),
    ),
)
_MONEY_FIELDS = {field for field, _ in _MONEY_CUES}
_NO_HOUSING = re.compile(
    r"\b(no|zero|don'?t (have|pay) (a|any)|do not (have|pay) (a|any))\s+(rent|mortgage)\b|"
    r"\b(own|owns|owned)\s+(my|our|the)\s+(home|house|place|condo|apartment)\s+"
    r"(outright|free and clear|fully)|\b(home|house|mortgage) is paid off\b|\bpaid off (my|our|the) "
    r"(home|house|mortgage)\b|\blive with (my )?(parents|family|folks)\b|\brent[- ]free\b|"
    r"没有房贷|不用(交|付)?房租|房子是自己的|房贷(已经)?还清|和父母(一起)?住|跟父母住",
    re.I,
)
_NO_DEBTS = re.compile(
    r"\b(no|zero|not any|don'?t have any|do not have any|haven'?t got any|without any)\s+"
    r"(other\s+|monthly\s+)?(debts?|loans?|credit card debt|debt payments?)\b|"
    r"\bdebt[- ]free\b|\bi (don'?t|do not) (have|owe) (any )?(other )?(debts?|anything)\b|"
    r"没有(其他的?|别的)?(负债|债务|欠款|贷款)|无(负债|债务)|不欠",
    re.I,
)
_SCORE = re.compile(
    r"(score|credit(?! ?cards?)|fico|信用分|信用评分|信用(?!卡))\D{0,20}?(?<!\d)(\d{3})(?!\d)|"
    r"(?<!\d)(\d{3})\s*(credit score|fico)",
    re.I,
)
_PHONE_CUE = re.compile(r"\b(phone|call|cell|mobile|number|reach me)\b|电话|手机", re.I)
_SSN_CUE = re.compile(r"\b(ssn|social)\b|社会安全|社安号", re.I)
_BIRTH_CUE = re.compile(r"\b(born|birth|dob|birthday)\b|生日|出生", re.I)
_NAME = re.compile(
    r"\b(?i:i'?m|i am|my name is|name'?s|this is|it'?s|call me)\s+"
    r"([A-Z][A-Za-z'’-]+(?:\s+[A-Z][A-Za-z'’-]+){1,3})"
)
_CHINESE_NAME = re.compile(
    r"(?:我叫|我是|名字是|姓名是?)[:：\s]*([\u4e00-\u9fff]{2,4}|[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)"
)
_STRONG_EMPLOYMENT = re.compile(
    r"self[- ]?employed|freelanc|\bretired\b|unemployed|laid off|full[- ]time|part[- ]time|"
    r"\bwork (at|for|as)\b|\bi work\b|\bemployed\b|上班|在职|退休|自雇|失业|待业|自由职业",
    re.I,
)
_YEARS_IN_BUSINESS = re.compile(
    r"(\d{1,3})\s*(?:years?|yrs?|年)[^.\d]{0,25}?(?:in business|operat|running)|"
    r"(?:in business|operat\w*|running|been open|经营|开了|成立)[^.\d]{0,20}?(\d{1,3})\s*(?:years?|yrs?|年)",
    re.I,
)
_VEHICLE_YEAR = re.compile(r"(?<!\d)(19[89]\d|20[0-3]\d)(?!\d)")
_MILEAGE = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(k|千|万)?\s*(?:miles|mi\b|英里|公里)", re.I)
_MAKES = (
    "Toyota|Honda|Ford|Chevrolet|Chevy|Nissan|Hyundai|Kia|Subaru|Mazda|Volkswagen|VW|BMW|"
    "Mercedes(?:-Benz)?|Audi|Lexus|Acura|Infiniti|Tesla|Jeep|Ram|Dodge|GMC|Buick|Cadillac|"
    "Chrysler|Volvo|Porsche|Mitsubishi|Lincoln|Genesis|Mini|Rivian|Polestar|Harley-Davidson|"
    "Yamaha|Ducati|丰田|本田|福特|雪佛兰|日产|现代|起亚|斯巴鲁|马自达|大众|宝马|奔驰|奥迪|雷克萨斯|特斯拉|吉普|沃尔沃|比亚迪"
)
_MAKE_MODEL = re.compile(
    rf"\b({_MAKES})\b\s*([A-Za-z0-9][\w-]*(?:\s+(?!with|and|for|that|it|miles)[A-Z0-9][\w-]*)?)?",
    re.I,
)
_ZH_MAKE = {
    "丰田": "Toyota",
    "本田": "Honda",
    "福特": "Ford",
    "雪佛兰": "Chevrolet",
    "日产": "Nissan",
    "现代": "Hyundai",
    "起亚": "Kia",
    "斯巴鲁": "Subaru",
    "马自达": "Mazda",
    "大众": "Volkswagen",
    "宝马": "BMW",
    "奔驰": "Mercedes-Benz",
    "奥迪": "Audi",
    "雷克萨斯": "Lexus",
    "特斯拉": "Tesla",
    "吉普": "Jeep",
    "沃尔沃": "Volvo",
    "比亚迪": "BYD",
}
_SEGMENTS = re.compile(r"[,，;；、\n]|\band\b")
_NOTHING = re.compile(r"(?i)(none|nothing|zero|no debts?|no rent|n/a|\$?0|没有|无|零)[.!。]?")
_ZERO_OK = {"monthly_debt_payments", "monthly_housing_payment", "existing_mortgage_balance"}
_NOT_AMOUNT = re.compile(
    r"\bnot\s+(?:\$|¥)?\s*\d[\d,.]*\s*(?:k|thousand|grand|万|千)?\b|不是\s*\d[\d,.]*\s*(?:k|万|千)?",
    re.I,
)


_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
# A run of Chinese numerals with at least one unit ("七百二", "两万五", "9万6千", "2.5万",
# "一千零五十"); a unit alone ("十分", "第十个") and digits alone ("二手车") are words, not amounts.
_CN_RUN = re.compile(r"(?:\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万亿])+")
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}


def _cn_run_value(run: str) -> Decimal | None:
    """The value of a run of Chinese numerals, with the everyday shortening: a digit right after
    a unit counts one place lower ("七百二" is 720, "一千五" 1500, "两万五" 25000)."""
    tokens = re.findall(r"\d+(?:\.\d+)?|.", run)
    total, section, number = Decimal(0), Decimal(0), Decimal(0)
    last_unit = 0
    after_zero = False
    for token in tokens:
        if token[0].isdigit():
            number = Decimal(token)
        elif token in _CN_DIGITS:
            number = Decimal(_CN_DIGITS[token])
        elif token == "零":
            after_zero, number = True, Decimal(0)
            continue
        elif token in _CN_UNITS:
            unit = _CN_UNITS[token]
            section += (number if number else 1) * unit
            number, last_unit, after_zero = Decimal(0), unit, False
            continue
        elif token in _CN_BIG:
            big = _CN_BIG[token]
            total += (section + number) * big
            section, number, last_unit, after_zero = Decimal(0), Decimal(0), big, False
            continue
        else:
            return None
    if number and last_unit >= 10 and not after_zero and tokens[-1] not in _CN_UNITS:
        number *= last_unit // 10  # "七百二": the 2 is twenty
    return total + section + number


def chinese_amounts(text: str) -> str:
    """Amounts in digits: Chinese ("两万五" → "25000", "9万6千" → "96000", "八千" → "8000",
    "七百二" → "720", "2.5万" → "25000") and English words ("twenty five thousand" → "25000")."""
    text = spelled_numbers(text)

    def digits(match: re.Match[str]) -> str:
        run = match.group(0)
        if len(run) < 2 or not re.search(r"[十百千万亿]", run):
            return run
        value = _cn_run_value(run)
        if value is None:
            return run
        return str(value.normalize() if value != value.to_integral_value() else int(value))

    return _CN_RUN.sub(digits, text)


@dataclass(frozen=True)
class Extracted:
    """Tool arguments per field, and whether the message reads as a correction."""

    values: dict[str, dict[str, Any]]
    correction: bool


def is_correction(text: str) -> bool:
    return bool(_CORRECTION.search(text))


def _amounts(text: str) -> list[tuple[int, int, Decimal]]:
    found = []
    for match in _AMOUNT.finditer(text):
        value = parse_amount(match.group(0))
        if value is None:
            continue
        if re.fullmatch(r"\s*(19\d\d|20[0-3]\d)\s*", match.group(0)):
            continue  # a bare 1900-2039 is a year ("a 2025 Honda"), not dollars
        following = text[match.end() : match.end() + 12].lower()
        if re.match(
            r"\s*(miles\b|mi\b|英里|公里|years?\b|yrs?\b|months?\b|mos?\b|年|个月|%)", following
        ):
            continue
        found.append((match.start(), match.end(), value))
    return found


def lone_amount(text: str) -> Decimal | None:
    """The amount of a message that is an amount and little else ("$15,000", "around 18 grand",
    "大概八万块"): the person may mean the loan amount, but nothing in it says which field."""
    text = chinese_amounts(text)
    found = _amounts(text)
    if len(found) != 1:
        return None
    start, end, value = found[0]
    rest = re.sub(
        r"\b(about|around|roughly|approximately|approx|maybe|like|say|just|only|probably|"
        r"i think|i guess|dollars?|bucks|usd|please|ish)\b|大概|大约|左右|差不多|可能|吧|块|元|钱|美元",
        " ",
        text[:start] + " " + text[end:],
        flags=re.I,
    )
    return value if not re.search(r"\w", rest) else None


def _place_amounts(
    text: str, fields: Sequence[str], taken: set[tuple[int, int]]
) -> dict[str, tuple[Decimal, int, int]]:
    """Each amount goes to the field whose cue is closest before it (or right after it)."""
    cues = [
        (match.start(), match.end(), field)
        for field, pattern in _MONEY_CUES
        if field in fields
        for match in pattern.finditer(text)
    ]
    placed: dict[str, tuple[Decimal, int, int]] = {}
    for start, end, value in _amounts(text):
        if any(start < b and a < end for a, b in taken):
            continue
        before = [c for c in cues if c[1] <= start and start - c[1] <= 45]
        after = [c for c in cues if c[0] >= end and c[0] - end <= 12]
        # A cue only counts if no other amount sits between it and this one.
        before = [c for c in before if not _amounts(text[c[1] : start])]
        choice = None
        if before:
            closest = max(c[1] for c in before)
            # Several fields may share one cue word ("value"): the earlier listed wins.
            choice = next(c for c in sorted(before, key=lambda c: _order(c[2])) if c[1] == closest)
        elif after:
            choice = min(after, key=lambda c: c[0])
        if choice is None or choice[2] in placed:
            continue
        placed[choice[2]] = (value, start, end)
    return placed


def _order(field: str) -> int:
    return [name for name, _ in _MONEY_CUES].index(field)


def _money_args(field: str, value: Decimal, text: str, start: int, end: int) -> dict[str, Any]:
    if field == "annual_income":
        window = re.split(r"[,，;；。]|\band\b|\bbut\b", text[end : end + 25])[0]
        if _MONTHLY.search(window) or re.search(
            r"月薪|月收入|每月|monthly", text[max(0, start - 8) : start]
        ):
            value = value * 12
        return {"annual_income": str(value.quantize(Decimal("0.01")))}
    if field in {"monthly_housing_payment", "monthly_debt_payments", "amount"}:
        return {field: str(value)}
    return {"slots": {field: str(value)}}


def extract(
    text: str,
    *,
    fields: Sequence[str],
    asked: Sequence[str] = (),
    purposes: Sequence[str] = (),
    opening: bool = False,
) -> Extracted:
    """The values the message gives for any of `fields` (the product's fields; the `asked` ones
    may be answered without a cue)."""
    values: dict[str, dict[str, Any]] = {}
    correction = is_correction(text)
    text = chinese_amounts(text)
    working = _NOT_AMOUNT.sub(" ", text) if correction else text
    taken: set[tuple[int, int]] = set()

    def want(field: str) -> bool:
        return field in fields and field not in values

    for token in _TOKEN.finditer(working):
        field = "ssn" if token.group(1) == "SSN" else "date_of_birth"
        if want(field):
            values[field] = {field: token.group(0)}
    if want("ssn") and ("ssn" in asked or _SSN_CUE.search(working)):
        ssn = parse_ssn(working)
        if ssn and not parse_phone(working):
            values["ssn"] = {"ssn": ssn}
            taken |= {m.span() for m in re.finditer(r"\d{3}[- ]?\d{2}[- ]?\d{4}", working)}
    if want("date_of_birth") and ("date_of_birth" in asked or _BIRTH_CUE.search(working)):
        born = parse_date(working)
        if born:
            values["date_of_birth"] = {"date_of_birth": born.isoformat()}
    for match in re.finditer(
        r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4}|\d{4}年\d{1,2}月\d{1,2}日?|\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]{3,9}\.?,?\s+\d{4}|[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}",
        working,
    ):
        taken.add(match.span())
    located = find_address(working)
    if located:
        span, parts = located
        # The address asked for: a property's address is never taken as the person's home.
        if "property_address" in asked or not want("home_address"):
            target = "property_address"
        else:
            target = "home_address"
        if parts and want(target):
            if target == "home_address":
                values[target] = {
                    "address_line1": parts["line1"],
                    "city": parts["city"],
                    "state": parts["state"],
                    "postal_code": parts["postal_code"],
                    **({"address_line2": parts["line2"]} if "line2" in parts else {}),
                }
            else:
                values[target] = {"slots": {target: parts}}
        taken.add(span)
    if want("phone") and ("phone" in asked or _PHONE_CUE.search(working)):
        phone = parse_phone(working)
        if phone:
            values["phone"] = {"phone": phone}
    for match in re.finditer(r"\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}", working):
        taken.add(match.span())
    if want("estimated_credit_score"):
        score = _SCORE.search(working)
        number = int(score.group(2) or score.group(3)) if score else None
        if number is None and "estimated_credit_score" in asked:
            plain = [int(n) for n in re.findall(r"(?<![\d,.$])(\d{3})(?![\d,])", working)]
            number = plain[0] if len(plain) == 1 else None
        if number is not None and 300 <= number <= 850:
            values["estimated_credit_score"] = {"estimated_credit_score": number}
            taken |= {m.span() for m in re.finditer(rf"\b{number}\b", working)}
    if want("years_in_business"):
        years = _YEARS_IN_BUSINESS.search(working)
        if years:
            values["years_in_business"] = {
                "slots": {"years_in_business": int(years.group(1) or years.group(2))}
            }
            taken.add(years.span())
    if want("vehicle_mileage"):
        miles = _MILEAGE.search(working)
        if miles:
            distance = Decimal(miles.group(1).replace(",", ""))
            scale = {"k": 1000, "千": 1000, "万": 10000}.get((miles.group(2) or "").lower(), 1)
            values["vehicle_mileage"] = {"slots": {"vehicle_mileage": int(distance * scale)}}
            taken.add(miles.span())
    if want("vehicle_make"):
        car = _MAKE_MODEL.search(working)
        if car:
            make = _ZH_MAKE.get(car.group(1), car.group(1))
            values["vehicle_make"] = {"slots": {"vehicle_make": make[:1].upper() + make[1:]}}
            model = (car.group(2) or "").strip()
            if want("vehicle_model") and model and not model.isdigit():
                values["vehicle_model"] = {"slots": {"vehicle_model": model}}
            year = _VEHICLE_YEAR.search(working[max(0, car.start() - 8) : car.start() + 1])
            if want("vehicle_year") and year:
                values["vehicle_year"] = {"slots": {"vehicle_year": int(year.group(1))}}
            taken.add(car.span())
    if want("vehicle_year") and (
        "vehicle_year" in asked
        or re.search(r"\b(car|truck|vehicle|model)\b|车", working, re.I)
        or _MAKE_MODEL.search(working)
    ):
        year = _VEHICLE_YEAR.search(working)
        if year and not (_BIRTH_CUE.search(working) and "vehicle_year" not in asked):
            values["vehicle_year"] = {"slots": {"vehicle_year": int(year.group(1))}}
    if want("vehicle_year") and "vehicle_year" in values:
        year_text = str(values["vehicle_year"]["slots"]["vehicle_year"])
        taken |= {m.span() for m in re.finditer(year_text, working)}
    term_match = None
    if want("term_months"):
        without = "".join(
            " " if any(a <= i < b for a, b in taken) else char for i, char in enumerate(working)
        )
        months = parse_term_months(_YEARS_IN_BUSINESS.sub(" ", without))
        old = re.search(r"\d+\s*(years?|yrs?)\s*old", working, re.I)
        if months and not old and months <= 480:
            values["term_months"] = {"term_months": months}
            term_match = True
    placed = _place_amounts(working, [f for f in fields if f in _MONEY_FIELDS and want(f)], taken)
    debt = placed.get("monthly_debt_payments")
    if debt and "monthly_debt_payments" not in asked:
        # "pay off my cards, 18k" is a balance, not a monthly payment: that needs "a month".
        around = working[max(0, debt[1] - 30) : debt[2] + 25]
        if not _MONTHLY.search(around):
            placed.pop("monthly_debt_payments")
    for field, (value, start, end) in placed.items():
        values[field] = _money_args(field, value, working, start, end)
        taken.add((start, end))
    if opening and want("amount"):
        # The first message names the loan: its one unplaced amount is what they want to borrow.
        loose = [a for a in _amounts(working) if not any(a[0] < e and s < a[1] for s, e in taken)]
        if len(loose) == 1:
            values["amount"] = {"amount": str(loose[0][2])}
            taken.add((loose[0][0], loose[0][1]))
    money_asked = [f for f in asked if f in _MONEY_FIELDS and want(f)]
    if money_asked:
        loose = [a for a in _amounts(working) if not any(a[0] < e and s < a[1] for s, e in taken)]
        if not loose and not placed and len(money_asked) == 1:
            # The rest of the message, without what was already read (a ZIP code is no value).
            rest = "".join(
                " " if any(a <= i < b for a, b in taken) else char for i, char in enumerate(working)
            )
            reading = answer(money_asked[0], rest, tuple(purposes)) if rest.strip() else None
            if reading is not None:
                values[money_asked[0]] = reading
        elif not loose:
            # "1200 in rent, nothing": a part of the answer with no amount that says "none".
            zero = [f for f in money_asked if f in _ZERO_OK and f not in values]
            nothing = [p for p in _SEGMENTS.split(working) if _NOTHING.fullmatch(p.strip())]
            for field, _ in zip(zero, nothing, strict=False):
                values[field] = {field: "0.00"}
        # Bare amounts answer the asked money questions in the order they were asked.
        for field, (start, end, value) in zip(money_asked, loose, strict=False):
            values[field] = _money_args(field, value, working, start, end)
    if want("monthly_housing_payment") and "monthly_housing_payment" not in values:
        # "I own my home outright", "no mortgage", "I live with my parents": nothing a month.
        if _NO_HOUSING.search(working):
            values["monthly_housing_payment"] = {"monthly_housing_payment": "0.00"}
    if want("monthly_debt_payments") and "monthly_debt_payments" not in values:
        # "no other debts", "I don't have any debts", "debt-free", "没有负债": none to pay.
        if _NO_DEBTS.search(working):
            values["monthly_debt_payments"] = {"monthly_debt_payments": "0.00"}
    del term_match
    if want("full_name"):
        named = _NAME.search(text) or _CHINESE_NAME.search(text)
        if named:
            values["full_name"] = _name_args(named.group(1))
        elif "full_name" in asked:
            for part in re.split(r"[,，;；\n]|\band\b|\bborn\b", text):
                reading = name_answer(part)
                if reading is not None:
                    values["full_name"] = reading
                    break
    _text_segments(text, asked, values, want)
    if want("employment_status") and (
        "employment_status" in asked or _STRONG_EMPLOYMENT.search(working)
    ):
        ranked, ties = by_words(
            working,
            options_for(("employed", "self_employed", "retired", "unemployed", "student", "other")),
        )
        if ranked and ties == 1:
            values["employment_status"] = {"employment_status": ranked[0]}
    return Extracted(values, correction)


_TEXT_FIELDS = ("vehicle_make", "vehicle_model", "business_name")


def _text_segments(text: str, asked: Sequence[str], values: dict[str, Any], want: Any) -> None:
    """Asked free-text fields ("Haddad Bakery LLC, 6 years, 800k revenue") take the parts of the
    message that nothing else used: no digits, no cue words, in the order they were asked."""
    missing = [f for f in asked if f in _TEXT_FIELDS and want(f)]
    if not missing:
        return
    used = " ".join(str(v) for v in values.values())
    parts = [p.strip(" .。") for p in _SEGMENTS.split(text)]
    free = [
        p
        for p in parts
        if p
        and not re.search(r"\d", p)
        and p not in used
        and _ZH_MAKE.get(p, p) not in used
        and len(p) <= 50
        and len(p.split()) <= 5
        and not re.search(r"\b(years?|revenue|miles|worth|value|owe)\b|年|营收|英里|价值", p, re.I)
    ]
    for field, part in zip(missing, free, strict=False):
        values[field] = {"slots": {field: _ZH_MAKE.get(part, part)}}


# Two-character family names (复姓): "欧阳娜娜" is 欧阳 + 娜娜, not 欧 + 阳娜娜.
_COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 令狐 慕容 公孙 夏侯 尉迟 长孙 宇文 司徒 端木 轩辕 独孤 南宫 "
    "西门 申屠 太史 万俟 闻人 澹台 公冶 宗政 濮阳 淳于 单于 呼延 赫连 钟离 百里 东郭 拓跋".split()
)


def _name_args(name: str) -> dict[str, str]:
    name = name.strip()
    if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name):
        split = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else 1
        return {"legal_first_name": name[split:], "legal_last_name": name[:split]}
    words = name.split()
    return {"legal_first_name": words[0], "legal_last_name": " ".join(words[1:])}


def name_answer(text: str) -> dict[str, str] | None:
    """A message that is only a name ("Dana Whitfield", "王小明")."""
    if only_answer_words(text):
        return None  # "go ahead", "sure thing", "idk lol", "等一下": a reply, not a name
    cleaned = re.sub(
        r"^(my name is|i'?m|i am|it'?s|name:?|我叫|我是|名字是)\s*", "", text.strip(), flags=re.I
    ).strip(" .。!！")
    # A title is not a first name: "Dr. Jane Doe" is Jane Doe.
    untitled = re.sub(r"^(dr|mr|mrs|ms|miss|mx|prof)\.?\s+", "", cleaned, flags=re.I)
    if untitled != cleaned and len(untitled.split()) < 2:
        return None  # "Mr Smith": no first name
    cleaned = untitled
    if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", cleaned):
        if _NOT_A_CHINESE_NAME.search(cleaned):
            return None  # "三年", "八万块", "是的", "不知道": an answer, not a name
        return _name_args(cleaned)
    words = cleaned.split()
    if "?" in text or "？" in text or any(w.lower() in _NOT_NAMES for w in words):
        return None  # "what is an APR", "can I pay early": words no name is made of
    if 2 <= len(words) <= 4 and all(re.fullmatch(r"[A-Za-z][A-Za-z'’.-]*", w) for w in words):
        return {"legal_first_name": words[0], "legal_last_name": " ".join(words[1:])}
    return None


# A count with its unit (a term, an amount, an age, a date), or a character that names are not
# made of but everyday answers are ("是的", "不知道", "好吧", "谢谢", "我的").
_NOT_A_CHINESE_NAME = re.compile(
    r"[零一二两三四五六七八九十百千][十百千万]?[年月日号岁块元万千个]|"
    r"[的了吗呢吧啊呀嗯不没是好谢请我你您他她它们这那要想在什么]"
)
# Everyday words that are not parts of a name (questions, requests, answers).
_NOT_NAMES = frozenset(
    "what whats how why where when who which is are was the a can could would should does "
    "did i you your my me we it this that of to for in on with and or not no yes ok okay please "
    "thanks hi hello help want need loan apr rate fee fees pay tell about talk person human".split()
)
