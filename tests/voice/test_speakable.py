"""What the voice reads aloud: no markdown, lists summarised, figures read naturally, English and
Chinese, whole sentences as soon as they are complete (issue 18)."""

from __future__ import annotations

import pytest

from voice.speakable import SpeakableStream, speakable


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("**Yes**, it's `done`.", "Yes, it's done."),
        ("## Next steps", "Next steps."),
        ("See [the guide](https://example.com/guide).", "See the guide."),
        ("You owe $1,234.50 today.", "You owe 1,234 dollars and 50 cents today."),
        ("A fee of $1.", "A fee of 1 dollar."),
        ("A refund of -$20.", "A refund of minus 20 dollars."),
        ("At 6.49% p.a. fixed.", "At 6.49 percent per year fixed."),
        ("Due 2026-01-05.", "Due 5 January 2026."),
        ("Reference OMF-2026-000123.", "Reference O M F, 2 0 2 6, 0 0 0 1 2 3."),
        ("金额 $25,000，利率 6.5%。", "金额 25,000美元，利率 百分之6.5。"),
        ("日期 2026-12-08。", "日期 2026年12月8日。"),
        ("| Lender | Rate |\n|---|---|\n| Acme | 6% |", "Lender, Rate. Acme, 6 percent."),
    ],
)
def test_figures_and_markdown(written: str, spoken: str) -> None:
    assert speakable(written) == spoken


def test_short_lists_are_read_and_long_ones_summarised() -> None:
    assert speakable("Bring:\n- payslips\n- ID") == "Bring: payslips and ID."
    assert speakable("- a\n- b\n- c") == "a; b; and c."
    long = "Offers:\n" + "\n".join(f"{n}. Lender {n}" for n in range(1, 6))
    assert speakable(long) == (
        "Offers: There are five items. The first three are: Lender 1; Lender 2; Lender 3. "
        "The full list is in the chat."
    )
    zh = "报价：\n" + "\n".join(f"- 机构{n}" for n in range(1, 5))
    assert (
        speakable(zh, "zh")
        == "报价：共有4项。前三项是：机构1；机构2；机构3。完整列表在聊天记录中。"
    )


def test_the_stream_hands_out_sentences_as_they_complete_and_holds_lists() -> None:
    stream = SpeakableStream("en")
    out: list[str] = []
    text = "Hello there. Your rate is 6.49% today. Offers:\n- A\n- B\nThat's all."
    for piece in text.split(" "):
        out.extend(stream.push(piece + " "))
    assert out[:2] == ["Hello there.", "Your rate is 6.49 percent today."]
    out.extend(stream.flush())
    assert out[2:] == ["Offers:", "A and B. That's all."]
    # A figure split across pieces is not cut at its decimal point.
    stream = SpeakableStream("en")
    assert list(stream.push("It is 6.")) == []
    assert list(stream.push("49% now. Next")) == ["It is 6.49 percent now."]
    assert list(stream.flush()) == ["Next"]


def test_chinese_sentences_stream_without_spaces() -> None:
    stream = SpeakableStream("zh")
    out: list[str] = []
    for char in "您好。利率是6.49%。请确认！":
        out.extend(stream.push(char))
    out.extend(stream.flush())
    assert out == ["您好。", "利率是百分之6.49。", "请确认！"]
