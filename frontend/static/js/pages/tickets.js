import { get, post, siteUrl } from "../api.js";
import { boot, h, fill, table, badge, emptyState, errorState, onSubmit, link, param } from "../ui.js";
import { dateTimeIST, label, period, rupees } from "../format.js";
import { addressLine } from "../property_view.js";
import { t } from "../i18n.js";

await boot("customer");
const form = document.getElementById("ticket-form");

function option(value, text) {
  return h("option", { value, text });
}

async function fillChoices() {
  // Bills and properties are optional links; a failure here must not block raising a ticket.
  const [bills, properties] = await Promise.allSettled([get("/bills", { limit: 100 }).then((page) => page.bills), get("/properties")]);
  if (bills.status === "fulfilled" && Array.isArray(bills.value)) {
    form.elements.bill_id.append(...bills.value.map((bill) =>
      option(bill.bill_id, `${period(bill.period)} · ${rupees(bill.total)}`)));
  }
  if (properties.status === "fulfilled") {
    form.elements.property_id.append(...properties.value.map((p) => option(p.property_id, addressLine(p.address))));
  }
  if (param("bill")) {
    form.elements.bill_id.value = param("bill");
    form.elements.category.value = "bill";
  }
  if (param("property")) form.elements.property_id.value = param("property");
}

async function load() {
  try {
    const tickets = await get("/tickets");
    fill("ticket-list", tickets.length
      ? table([
        { label: t("Number"), cell: (row) => link(`ticket.html?id=${encodeURIComponent(row.ticket_id)}`, row.ticket_id, "font-monospace") },
        { label: t("Subject"), cell: (row) => row.subject },
        { label: t("About"), cell: (row) => label(row.category) },
        { label: t("Status"), cell: (row) => badge(row.status) },
        { label: t("Updated"), cell: (row) => dateTimeIST(row.updated_at) },
      ], tickets, { caption: t("Your support requests") })
      : emptyState(t("You have not raised any requests.")));
  } catch (error) {
    fill("ticket-list", errorState(error));
  }
}

onSubmit(form, async (values) => {
  const ticket = await post("/tickets", values);
  location.assign(siteUrl(`ticket.html?id=${encodeURIComponent(ticket.ticket_id)}&raised=1`));
});

await Promise.all([load(), fillChoices()]);
