// How a property is shown in lists and on its own page.

import { h, badge } from "./ui.js";
import { label, rupees, period } from "./format.js";
import { t } from "./i18n.js";

export function addressLine(address) {
  return [address.line1, address.line2, address.city, address.state, address.pincode].filter(Boolean).join(", ");
}

export function meterBadge(status) {
  return badge(status, status === "not_assigned" ? t("No meter yet") : t("Meter {status}", { status: label(status).toLowerCase() }));
}

export function latestBillSummary(bill) {
  if (!bill) return h("span", { class: "text-body-secondary", text: t("No bill yet") });
  return h("span", {}, h("span", { class: "amount", text: rupees(bill.amount ?? bill.total) }),
    " ", bill.period ? h("span", { class: "text-body-secondary", text: `(${period(bill.period)})` }) : null,
    " ", bill.status ? badge(bill.status) : null);
}
