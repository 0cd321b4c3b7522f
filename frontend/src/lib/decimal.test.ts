import { describe, expect, it } from "vitest";

import { addDecimal, compareDecimal, isDecimal, movePoint, sumDecimals } from "./decimal";

describe("decimal strings", () => {
  it("adds exactly where binary floats do not", () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(addDecimal("0.1", "0.2")).toBe("0.3");
    expect(addDecimal("10.5", "0.25")).toBe("10.75");
    expect(addDecimal("-1.10", "1.1")).toBe("0.00");
    expect(addDecimal("99999999999999999.99", "0.01")).toBe("100000000000000000.00");
  });

  it("sums a ledger to the cent", () => {
    const lines = Array.from({ length: 1000 }, () => "0.01");
    expect(sumDecimals(lines)).toBe("10.00");
    expect(sumDecimals([])).toBe("0");
    expect(sumDecimals(["1250.00", "-250.50", "0.5"])).toBe("1000.00");
  });

  it("compares values of different scales and signs", () => {
    expect(compareDecimal("1.50", "1.5")).toBe(0);
    expect(compareDecimal("6.125", "6.13")).toBe(-1);
    expect(compareDecimal("-0.01", "0")).toBe(-1);
    expect(compareDecimal("10", "9.999")).toBe(1);
    expect(["7.25", "6.125", "6.5"].sort(compareDecimal)).toEqual(["6.125", "6.5", "7.25"]);
  });

  it("moves the decimal point exactly (percent units to fractions)", () => {
    expect(movePoint("6.25", -2)).toBe("0.0625");
    expect(movePoint("0.5", -2)).toBe("0.005");
    expect(movePoint("-12", -2)).toBe("-0.12");
    expect(movePoint("0.0625", 2)).toBe("6.25");
    expect(movePoint("3", 2)).toBe("300");
  });

  it("refuses what is not a decimal number", () => {
    expect(isDecimal("12.30")).toBe(true);
    expect(isDecimal(" -4 ")).toBe(true);
    for (const bad of ["", "1e3", "1,000.00", "NaN", "12.", ".5", "$5"]) {
      expect(isDecimal(bad)).toBe(false);
    }
    expect(() => addDecimal("1e3", "1")).toThrow(RangeError);
  });
});
