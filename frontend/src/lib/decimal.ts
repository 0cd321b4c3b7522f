// Exact arithmetic on the decimal strings the API sends for money and rates ("1234.50", "6.25").
// Money never becomes a binary float here: values are scaled BigInts, so "0.1" + "0.2" is "0.3".

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

interface Scaled {
  units: bigint; // the value times 10^scale
  scale: number;
}

export function isDecimal(value: string): boolean {
  return DECIMAL.test(value.trim());
}

function parse(value: string): Scaled {
  const match = DECIMAL.exec(value.trim());
  if (!match) throw new RangeError(`Not a decimal number: ${JSON.stringify(value)}`);
  const [, sign, whole, fraction = ""] = match;
  const units = BigInt(`${whole}${fraction}`);
  return { units: sign === "-" ? -units : units, scale: fraction.length };
}

function rescale(value: Scaled, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

function render(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? `.${digits.slice(digits.length - scale)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/** a + b, exactly, at the larger of the two scales ("10.5" + "0.25" = "10.75"). */
export function addDecimal(a: string, b: string): string {
  const x = parse(a);
  const y = parse(b);
  const scale = Math.max(x.scale, y.scale);
  return render(rescale(x, scale) + rescale(y, scale), scale);
}

/** The sum of a list (an empty list sums to "0"). */
export function sumDecimals(values: readonly string[]): string {
  return values.reduce((total, value) => addDecimal(total, value), "0");
}

/** -1, 0 or 1 as a < b, a = b, a > b ("1.50" equals "1.5"). For sorting offers by APR. */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const x = parse(a);
  const y = parse(b);
  const scale = Math.max(x.scale, y.scale);
  const difference = rescale(x, scale) - rescale(y, scale);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

/** The value times 10^places, exactly ("6.25", -2 → "0.0625"): for percent units. */
export function movePoint(value: string, places: number): string {
  const x = parse(value);
  const scale = x.scale - places; // units / 10^scale is the moved value
  return scale >= 0 ? render(x.units, scale) : render(x.units * 10n ** BigInt(-scale), 0);
}
