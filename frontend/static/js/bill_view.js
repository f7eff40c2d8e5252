// Bills as lists and charts: shared by the dashboard and the bills pages.

import { h, badge, link } from "./ui.js";
import { period, rupees, toPaise } from "./format.js";
import { t } from "./i18n.js";

export const billHref = (id) => `bill.html?id=${encodeURIComponent(id)}`;
export const payHref = (id) => `pay.html?bill=${encodeURIComponent(id)}`;

export function owes(bill) {
  return toPaise(bill.amount_due) > 0n;
}

export function statusBadges(bill) {
  return h("span", { class: "d-inline-flex flex-wrap gap-1" }, badge(bill.status),
    bill.estimated ? badge("estimated", t("Estimated")) : null,
    bill.share_count > 1 ? badge("info", t("Share {share} of {count}", { share: bill.share, count: bill.share_count })) : null);
}

export function billActions(bill) {
  // Link names say which bill, for people who list a page's links with a screen reader.
  const view = link(billHref(bill.bill_id), t("View"), "btn btn-sm btn-outline-primary");
  view.setAttribute("aria-label", t("View bill, {month}", { month: period(bill.period) }));
  const pay = owes(bill) ? link(payHref(bill.bill_id), t("Pay"), "btn btn-sm btn-primary") : null;
  if (pay) pay.setAttribute("aria-label", t("Pay bill, {month}", { month: period(bill.period) }));
  return h("div", { class: "d-flex flex-wrap gap-1" }, view, pay);
}

/** The last `count` months up to this month in IST, as "YYYY-MM", oldest first. */
export function lastMonths(count = 12, now = new Date()) {
  const [year, month] = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Kolkata", year: "numeric", month: "2-digit" })
    .format(now).split("-").map(Number);
  const months = [];
  for (let i = count - 1; i >= 0; i -= 1) {
    const index = year * 12 + (month - 1) - i;
    months.push(`${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}`);
  }
  return months;
}

/** Units per month: each property's units once per period (a split bill repeats them). */
export function unitsByMonth(bills, months) {
  const seen = new Set();
  const totals = Object.fromEntries(months.map((m) => [m, 0]));
  for (const bill of bills) {
    const key = `${bill.property_id}|${bill.period}`;
    if (!(bill.period in totals) || seen.has(key)) continue;
    seen.add(key);
    totals[bill.period] += Number(bill.units) || 0;
  }
  return months.map((m) => ({ month: m, label: period(m, true), units: totals[m] }));
}

/** A line item's quantity: kWh or kW, or for a percentage charge its base (money). */
export function lineQuantity(line) {
  if (line.quantity === null || line.quantity === undefined) return "";
  if (line.unit === "INR") return rupees(line.quantity);
  return `${line.quantity}${line.unit ? ` ${line.unit}` : ""}`;
}

export function lineRate(line) {
  if (line.rate === null || line.rate === undefined) return "";
  // A percent applies to a rupee base (unit INR); a ToD zone priced per kWh has a rupee rate.
  return ["percentage", "tod", "subsidy"].includes(line.kind) && line.unit === "INR" ? `${line.rate}%` : rupees(line.rate);
}
