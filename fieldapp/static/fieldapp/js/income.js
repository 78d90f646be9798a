// A quarter's income as the helper types it: yuan with at most two decimals, kept as text so
// no float ever touches money; the server reads the same text as a Decimal.

export const CATEGORIES = [
  { key: "wages", label: "工资性收入", signed: false },
  { key: "operating", label: "经营性收入", signed: true, hint: "亏损填负数" },
  { key: "property", label: "财产性收入", signed: false },
  { key: "transfers", label: "转移性收入", signed: false },
];
// The server's limits (visits.models.INCOME_MAX, VILLAGE_INCOME_MAX).
export const INCOME_MAX_DIGITS = 8; // up to 10,000,000.00 a category
export const VILLAGE_MAX_DIGITS = 10;
// From the year's second quarter, a total this many times last quarter's looks like the
// year's running total typed instead of the quarter's own (in Q3 a running total is ~3 times).
const YEAR_TO_DATE_RATIO = 1.8;

// "1234.5" → "1234.50"; null when it is not an amount.
export function normalize(text, { signed = false, maxDigits = INCOME_MAX_DIGITS } = {}) {
  const value = String(text ?? "")
    .trim()
    .replace(/[,,\s]/g, "")
    .replace(/^\+/, "")
    .replace(/^[-−—]/, "-");
  const match = value.match(/^(-?)(\d+)(?:\.(\d{0,2}))?$/);
  if (!match) return null;
  const [, sign, whole, fraction = ""] = match;
  const digits = whole.replace(/^0+(?=\d)/, "");
  if (digits.length > maxDigits) return null;
  if (sign && !signed) return null;
  const amount = `${digits}.${fraction.padEnd(2, "0")}`;
  return sign && Number(amount) !== 0 ? `-${amount}` : amount;
}

export function checkAmount(text, category, maxDigits = INCOME_MAX_DIGITS) {
  if (String(text ?? "").trim() === "") return { error: "请填写(没有收入填 0)" };
  const value = normalize(text, { signed: category.signed, maxDigits });
  if (value === null) {
    return {
      error: category.signed
        ? "请填写金额,如 1200 或 -350.50(最多两位小数)"
        : "请填写金额,如 1200 或 350.50(不能为负,最多两位小数)",
    };
  }
  const limit = 10 ** (maxDigits - 1);
  if (Math.abs(Number(value)) > limit) return { error: `超过上限 ${limit.toLocaleString()} 元` };
  return { value };
}

// Cents as integers, so sums compare exactly.
const cents = (amount) => Math.round(Number(amount) * 100);
const total = (income) => CATEGORIES.reduce((sum, c) => sum + cents(income[c.key]), 0);

// Why the figures look year-to-date, or null. `place` is a row of /me/households: its
// `previous_income` (last quarter) and `earlier_income` (this year's earlier quarters summed).
export function yearToDateWarning(income, place, quarter) {
  const earlier = place && place.earlier_income;
  const year = String(quarter).slice(0, 4);
  const q = Number(String(quarter).slice(-1));
  if (earlier && earlier.quarters.length === q - 1) {
    const same = CATEGORIES.every((c) => cents(income[c.key]) === cents(earlier.income[c.key]));
    if (same) {
      return `与今年前${q - 1}个季度收入之和完全相同,疑似累计数。请只填本季度的收入。`;
    }
  }
  const previous = place && place.previous_income;
  if (previous && q > 1 && String(place.previous_quarter).startsWith(year)) {
    const before = total(previous);
    if (before > 0 && total(income) >= before * YEAR_TO_DATE_RATIO) {
      return `本季度合计是上季度的 ${(total(income) / before).toFixed(1)} 倍,像是今年累计数。请确认只填了本季度的收入。`;
    }
  }
  return null;
}

export function formatYuan(amount) {
  if (amount === null || amount === undefined || amount === "") return "—";
  const [whole, fraction = "00"] = String(amount).split(".");
  const sign = whole.startsWith("-") ? "-" : "";
  const digits = whole.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}${digits}.${fraction.padEnd(2, "0").slice(0, 2)}`;
}
