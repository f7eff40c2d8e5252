import { get } from "../api.js";
import { boot, h, fill, table, emptyState, errorState, param } from "../ui.js";
import { dateIST, period, rupees, units } from "../format.js";
import { billActions, owes, statusBadges } from "../bill_view.js";
import { addressLine } from "../property_view.js";

await boot("customer");
const propertyFilter = param("property");
const unpaidOnly = param("status") === "unpaid";

try {
  const [bills, properties] = await Promise.all([get("/bills"), get("/properties").catch(() => [])]);
  const addresses = Object.fromEntries(properties.map((p) => [p.property_id, addressLine(p.address)]));
  const shown = bills
    .filter((b) => !propertyFilter || b.property_id === propertyFilter)
    .filter((b) => !unpaidOnly || owes(b))
    .sort((a, b) => (b.period + b.bill_id).localeCompare(a.period + a.bill_id));
  const filterNote = propertyFilter || unpaidOnly
    ? h("p", { class: "small" }, unpaidOnly ? "Showing unpaid bills" : `Showing bills of ${addresses[propertyFilter] || "one property"}`,
      " · ", h("a", { href: "bills.html", text: "show all" }))
    : null;
  fill("bill-list", filterNote, shown.length
    ? table([
      { label: "Period", cell: (b) => h("span", { class: "fw-semibold", text: period(b.period) }) },
      { label: "Property", cell: (b) => h("span", { class: "small", text: addresses[b.property_id] || b.property_id }) },
      { label: "Units", cell: (b) => units(b.units), numeric: true },
      { label: "Amount", cell: (b) => h("span", { class: "amount", text: rupees(b.total) }), numeric: true },
      { label: "Due", cell: (b) => dateIST(b.due_date) },
      { label: "Status", cell: statusBadges },
      { label: "", cell: billActions },
    ], shown, { caption: "Your bills, newest first" })
    : emptyState(bills.length ? "No bills match." : "No bills yet. Your first bill appears after the next monthly meter reading."));
} catch (error) {
  fill("bill-list", errorState(error));
}
