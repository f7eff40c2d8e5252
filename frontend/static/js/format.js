// How amounts, dates and quantities are shown: rupees with Indian digit
// grouping (₹1,23,456.78) and times in India Standard Time, whatever the
// browser's own time zone. Month names follow the page's language (i18n.js);
// amounts keep Indian grouping and Latin digits in every language.

import { LOCALE } from "./i18n.js";

export const TIME_ZONE = "Asia/Kolkata";

const inr = new Intl.NumberFormat("en-IN", { style: "currency", currency: "INR" });
const number = new Intl.NumberFormat("en-IN", { maximumFractionDigits: 3 });
const date = new Intl.DateTimeFormat(LOCALE, { timeZone: TIME_ZONE, day: "numeric", month: "short", year: "numeric" });
const dateTime = new Intl.DateTimeFormat(LOCALE, {
  timeZone: TIME_ZONE, day: "numeric", month: "short", year: "numeric", hour: "numeric", minute: "2-digit",
});
const monthYear = new Intl.DateTimeFormat(LOCALE, { timeZone: "UTC", month: "long", year: "numeric" });
const shortMonth = new Intl.DateTimeFormat(LOCALE, { timeZone: "UTC", month: "short", year: "2-digit" });

// Money arrives as a decimal string ("1380.00") and is formatted from the
// string itself: Intl formats a numeric string exactly, no float in between.
export function rupees(amount) {
  if (amount === null || amount === undefined || amount === "") return "—";
  const text = typeof amount === "string" ? amount.trim() : String(amount);
  if (!/^-?\d+(\.\d+)?$/.test(text)) return "—";
  return inr.format(text);
}

// Whole paise (an integer) as rupees, without dividing a float.
export function paise(value) {
  if (value === null || value === undefined) return "—";
  const big = BigInt(value);
  const negative = big < 0n;
  const abs = negative ? -big : big;
  const text = `${negative ? "-" : ""}${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`;
  return rupees(text);
}

export function units(value, unit = "kWh") {
  if (value === null || value === undefined || value === "") return "—";
  const text = String(value);
  return `${/^-?\d+(\.\d+)?$/.test(text) ? number.format(text) : text} ${unit}`;
}

function toDate(value) {
  if (!value) return null;
  // A plain date ("2026-03-31") is a calendar day, not midnight UTC.
  const moment = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00+05:30`) : new Date(value);
  return Number.isNaN(moment.getTime()) ? null : moment;
}

export function dateIST(value) {
  const moment = toDate(value);
  return moment ? date.format(moment) : "—";
}

export function dateTimeIST(value) {
  const moment = toDate(value);
  return moment ? `${dateTime.format(moment)} IST` : "—";
}

// A billing period "2026-03" as "March 2026" (and "Mar 26" for chart labels).
export function period(value, short = false) {
  const match = /^(\d{4})-(\d{2})/.exec(value || "");
  if (!match) return value || "—";
  const moment = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1));
  return (short ? shortMonth : monthYear).format(moment);
}

// "in_progress" -> "In progress"
export function label(value) {
  if (!value) return "—";
  const text = String(value).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// Masks all but the last four digits of a mobile number: +91 ••••••1234
export function maskedMobile(mobile) {
  if (!mobile) return "—";
  const digits = String(mobile);
  return `${digits.slice(0, 3)} ••••••${digits.slice(-4)}`;
}

// "1380.5" -> 138050n: exact, for adding amounts up without floats.
export function toPaise(amount) {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(amount ?? "").trim());
  if (!match) return 0n;
  const value = BigInt(match[2]) * 100n + BigInt((match[3] || "0").padEnd(2, "0"));
  return match[1] ? -value : value;
}

export function sumRupees(amounts) {
  let total = 0n;
  for (const amount of amounts) total += toPaise(amount);
  return paise(total);
}
