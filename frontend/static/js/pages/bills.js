import { get } from "../api.js";
import { boot, h, table, emptyState, pagedTable, param } from "../ui.js";
import { dateIST, period, rupees, units } from "../format.js";
import { billActions, owes, statusBadges } from "../bill_view.js";
import { addressLine } from "../property_view.js";
import { t } from "../i18n.js";

await boot("customer");
const propertyFilter = param("property");
const unpaidOnly = param("status") === "unpaid";
const ONE_PROPERTY = t("one property");

// Smart (v2) meters: whole kWh per time-of-day zone, month by month (one stacked bar a month).
const ZONE_CLASSES = ["bg-secondary", "bg-info", "bg-warning", "bg-danger", "bg-success", "bg-primary", "bg-dark", "bg-light"];

function zoneHistory(bills) {
  const months = bills.filter((b) => b.tod_units).slice().sort((a, b) => a.period.localeCompare(b.period));
  if (!months.length) return null;
  const hours = months[months.length - 1].tod_zone_hours;
  const biggest = Math.max(1, ...months.map((b) => b.tod_units.reduce((sum, u) => sum + u, 0)));
  const segment = (value, index) => {
    const element = h("span", { class: `d-inline-block ${ZONE_CLASSES[index % ZONE_CLASSES.length]}`, title: `${hours[index] || `zone ${index + 1}`}: ${units(value)}` });
    element.style.height = "1rem";  // sized through the CSSOM: the CSP allows no inline styles
    element.style.width = `${(value / biggest) * 70}%`;
    return element;
  };
  return h("section", { class: "card mb-4", id: "zone-history", "aria-labelledby": "zone-history-title" }, h("div", { class: "card-body" },
    h("h2", { class: "h5", id: "zone-history-title", text: t("Consumption by time of day") }),
    h("p", { class: "small mb-2" }, hours.map((span, index) => h("span", { class: "me-3 text-nowrap" },
      h("span", { class: `d-inline-block rounded ${ZONE_CLASSES[index % ZONE_CLASSES.length]} zone-swatch`, "aria-hidden": "true", text: "\u00a0\u00a0\u00a0" }), ` ${span}`))),
    months.map((b) => h("div", { class: "d-flex align-items-center gap-2 small mb-1", role: "img",
      "aria-label": `${period(b.period)}: ${b.tod_units.map((u, i) => `${hours[i] || `zone ${i + 1}`} ${u} kWh`).join(", ")}` },
      h("span", { class: "text-nowrap", text: period(b.period) }),
      h("span", { class: "flex-grow-1 text-nowrap" }, b.tod_units.map(segment)),
      h("span", { class: "text-nowrap", text: units(b.tod_units.reduce((sum, u) => sum + u, 0)) })))));
}

// Newest first, a page at a time: "More bills" reads on from where the list stopped.
let addresses = {};
// Bills per page (?rows=N, 1-100: a shorter page for slow links or the tests).
const PAGE = Math.min(100, Math.max(1, Number.parseInt(param("rows") || "", 10) || 24));

function render(bills, cursor) {
  const shown = bills
    .filter((b) => !propertyFilter || b.property_id === propertyFilter)
    .filter((b) => !unpaidOnly || owes(b))
    .sort((a, b) => (b.period + b.bill_id).localeCompare(a.period + a.bill_id));
  const filterNote = propertyFilter || unpaidOnly
    ? h("p", { class: "small" }, unpaidOnly ? t("Showing unpaid bills") : t("Showing bills of {property}", { property: addresses[propertyFilter] || ONE_PROPERTY }),
      " · ", h("a", { href: "bills.html", text: t("show all") }))
    : null;
  return [filterNote, zoneHistory(shown), shown.length
    ? table([
      { label: t("Period"), cell: (b) => h("span", { class: "fw-semibold", text: period(b.period) }) },
      { label: t("Property"), cell: (b) => h("span", { class: "small", text: addresses[b.property_id] || b.property_id }) },
      { label: t("Units"), cell: (b) => units(b.units), numeric: true },
      { label: t("Amount"), cell: (b) => h("span", { class: "amount", text: rupees(b.total) }), numeric: true },
      { label: t("Due"), cell: (b) => dateIST(b.due_date) },
      { label: t("Status"), cell: statusBadges },
      { label: "", cell: billActions },
    ], shown, { caption: t("Your bills, newest first"), stack: true })
    : emptyState(bills.length || cursor ? t("No bills match.") : t("No bills yet. Your first bill appears after the next monthly meter reading."))];
}

await pagedTable("bill-list", {
  path: "/bills", itemsKey: "bills", pageSize: PAGE,
  alongside: async () => {
    const properties = await get("/properties").catch(() => []);
    addresses = Object.fromEntries(properties.map((p) => [p.property_id, addressLine(p.address)]));
  },
  render,
  moreLabel: t("More bills"),
  loadingText: t("Loading your bills"),
});
