import { api, get, post } from "../api.js";
import { boot, h, fill, table, badge, emptyState, errorState, onSubmit, action, notify, showLoading, values, link } from "../ui.js";
import { dateIST, dateTimeIST, label, period, rupees } from "../format.js";

await boot("admin");
const filter = document.getElementById("defaulter-filter");

function defaulterRows(list) {
  const rows = [];
  for (const person of list.defaulters) {
    for (const bill of person.bills) rows.push({ person, bill });
  }
  return rows;
}

async function loadDefaulters(query) {
  showLoading("defaulter-list", "Loading defaulters");
  try {
    const list = await get("/admin/defaulters", query);
    fill("defaulter-list",
      h("p", {}, `${list.count} defaulter(s) owe `, h("strong", { class: "amount", text: rupees(list.total_due) }), ` as of ${dateIST(list.as_of)}.`),
      list.count
        ? table([
          { label: "Payer", cell: (r) => h("div", {}, h("div", { class: "fw-semibold", text: r.person.name || r.person.payer_id }),
            h("div", { class: "small text-body-secondary", text: [r.person.email, r.person.mobile].filter(Boolean).join(" · ") })) },
          { label: "Bill", cell: (r) => link(`bill.html?id=${encodeURIComponent(r.bill.bill_id)}`, r.bill.bill_id, "font-monospace small") },
          { label: "Property", cell: (r) => h("div", { class: "small" }, r.bill.address || r.bill.property_id, h("div", { class: "text-body-secondary", text: label(r.bill.category) })) },
          { label: "Period", cell: (r) => period(r.bill.period) },
          { label: "Due date", cell: (r) => dateIST(r.bill.due_date) },
          { label: "Days overdue", cell: (r) => String(r.bill.days_overdue), numeric: true },
          { label: "Amount due", cell: (r) => h("span", { class: "amount", text: rupees(r.bill.amount_due) }), numeric: true },
          { label: "Status", cell: (r) => badge(r.bill.status) },
        ], defaulterRows(list), { caption: "Unpaid bills past their due date" })
        : emptyState("Nobody owes anything past a due date."));
  } catch (error) {
    fill("defaulter-list", errorState(error));
  }
}

onSubmit(filter, async (query) => loadDefaulters(query));

action(document.getElementById("defaulters-csv"), async () => {
  const csv = await api("/admin/defaulters/csv", { query: values(filter), accept: "text/csv" });
  const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
  const anchor = h("a", { href: url, download: `defaulters-${new Date().toISOString().slice(0, 10)}.csv` });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
});

onSubmit(document.getElementById("bill-payments-form"), async (query) => {
  const payments = await get(`/bills/${encodeURIComponent(query.bill_id)}/payments`);
  fill("payment-list", payments.length
    ? table([
      { label: "Payment", cell: (p) => h("span", { class: "font-monospace small", text: p.payment_id }) },
      { label: "When", cell: (p) => dateTimeIST(p.paid_at) },
      { label: "Method", cell: (p) => label(p.method) },
      { label: "Reference", cell: (p) => p.reference || "—" },
      { label: "Status", cell: (p) => h("span", {}, badge(p.status), p.applied ? "" : h("span", { class: "small text-body-secondary ms-1", text: p.not_applied_reason || "not applied" })) },
      { label: "Amount", cell: (p) => rupees(p.amount), numeric: true },
    ], payments, { caption: `Payments of ${query.bill_id}` })
    : emptyState("No payments for this bill yet."));
});

action(document.getElementById("mark-overdue"), async () => {
  const run = await post("/admin/bills/mark-overdue");
  notify(`${run.marked} bill(s) marked overdue as of ${dateIST(run.as_of)}.`);
  await loadDefaulters(values(filter));
});

onSubmit(document.getElementById("offline-form"), async (body, form) => {
  const payment = await post(`/admin/bills/${encodeURIComponent(body.bill_id)}/offline-payments`,
    { method: body.method, reference: body.reference });
  form.reset();
  notify(`Recorded ${rupees(payment.amount)} by ${label(payment.method).toLowerCase()} for ${payment.bill_id}.`);
});

await loadDefaulters(values(filter));
