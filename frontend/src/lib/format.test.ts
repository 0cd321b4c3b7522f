import { describe, expect, it } from "vitest";

import { formatDateTime, formatMoney, formatPercent, intlLocale } from "./format";

describe("formatMoney", () => {
  it("formats the API's decimal strings as dollars", () => {
    expect(formatMoney("1234.5", "en-US")).toBe("$1,234.50");
    expect(formatMoney("0", "en-US")).toBe("$0.00");
    expect(formatMoney("-250.75", "en-US")).toBe("-$250.75");
  });

  it("keeps every digit of amounts no float can hold", () => {
    expect(formatMoney("12345678901234567.89", "en-US")).toBe("$12,345,678,901,234,567.89");
  });

  it("rounds half away from zero on the decimal value, not its float neighbour", () => {
    // 1.005 as a float is 1.00499999999999989...; the string is exactly 1.005.
    expect(formatMoney("1.005", "en-US")).toBe("$1.01");
    expect(formatMoney("2.675", "en-US")).toBe("$2.68");
  });

  it("follows the reader's language", () => {
    expect(formatMoney("1234.5", "zh-CN")).toBe("US$1,234.50");
  });

  it("shows a dash for missing or malformed values rather than a wrong number", () => {
    expect(formatMoney(null, "en-US")).toBe("—");
    expect(formatMoney(undefined, "en-US")).toBe("—");
    expect(formatMoney("12,50", "en-US")).toBe("—");
    expect(formatMoney("NaN", "en-US")).toBe("—");
  });
});

describe("formatPercent", () => {
  it("reads rates in percent units", () => {
    expect(formatPercent("6.25", "en-US")).toBe("6.25%");
    expect(formatPercent("6.125", "en-US")).toBe("6.125%");
    expect(formatPercent("9.6857080623", "en-US")).toBe("9.686%");
    expect(formatPercent("7", "en-US")).toBe("7.00%");
    expect(formatPercent("0", "zh-CN")).toBe("0.00%");
  });

  it("shows a dash for missing values", () => {
    expect(formatPercent(null, "en-US")).toBe("—");
    expect(formatPercent("six", "en-US")).toBe("—");
  });
});

describe("dates and locales", () => {
  it("formats ISO date-times and refuses garbage", () => {
    expect(formatDateTime("2026-11-27T10:00:00Z", "en-US")).toMatch(/Nov 27, 2026/);
    expect(formatDateTime("not a date", "en-US")).toBe("—");
    expect(formatDateTime(null, "en-US")).toBe("—");
  });

  it("maps app languages to Intl locales", () => {
    expect(intlLocale("zh")).toBe("zh-CN");
    expect(intlLocale("en")).toBe("en-US");
  });
});
