import { api, get, post } from "../api.js";
import { boot, h, fill, table, badge, emptyState, errorState, onSubmit, action, notify, showLoading, values, link } from "../ui.js";
import { dateIST, dateTimeIST, label, period, rupees, sumRupees } from "../format.js";

await boot("admin");
const filter = document.getElementById("defaulter-filter");

// The defaulters list comes a page at a time (payers by amount owed, largest first);
// "More" adds the next page, "Bills" reads one payer's overdue bills on demand, and the
// CSV holds the pages shown (one request per page: never the whole list in one answer).
let shownPages = [];  // the cursor each shown page started from (null: the first)
let nextCursor = null;
let shownRows = [];
let shownTotals = [];  // each shown page's total_due (rupee strings, summed in paise)

function payerBills(person, cell) {
  return h("button", {
    type: "button", class: "btn btn-sm btn-outline-secondary", text: `Bills (${person.bill_count})`,
    on: { click: async (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      try {
        const detail = await get(`/admin/defaulters/${encodeURIComponent(person.payer_id)}`);
        cell.replaceChildren(table([
          { label: "Bill", cell: (b) => link(`bill.html?id=${encodeURIComponent(b.bill_id)}`, b.bill_id, "font-monospace small") },
          { label: "Property", cell: (b) => h("div", { class: "small" }, b.address || b.property_id, h("div", { class: "text-body-secondary", text: label(b.category) })) },
          { label: "Period", cell: (b) => period(b.period) },
          { label: "Due date", cell: (b) => dateIST(b.due_date) },
          { label: "Days overdue", cell: (b) => String(b.days_overdue), numeric: true },
          { label: "Amount due", cell: (b) => h("span", { class: "amount", text: rupees(b.amount_due) }), numeric: true },
          { label: "Status", cell: (b) => badge(b.status) },
        ], detail.bills, { caption: `Overdue bills of ${person.name || person.payer_id}` }));
      } catch (error) {
        cell.replaceChildren(errorState(error));
      }
    } },
  });
}

function renderDefaulters(asOf) {
  const more = nextCursor
    ? h("button", { type: "button", class: "btn btn-outline-secondary", id: "defaulters-more", text: "More",
      on: { click: async (event) => { event.currentTarget.disabled = true; await loadDefaulters(values(filter), nextCursor); } } })
    : "";
  fill("defaulter-list",
    h("p", {}, `${shownRows.length}${nextCursor ? "+" : ""} defaulter(s) shown owe `, h("strong", { class: "amount", text: sumRupees(shownTotals) }), ` as of ${dateIST(asOf)}.`),
    shownRows.length
      ? table([
        { label: "Payer", cell: (p) => h("div", {}, h("div", { class: "fw-semibold", text: p.name || p.payer_id }),
          h("div", { class: "small text-body-secondary", text: [p.email, p.mobile].filter(Boolean).join(" · ") })) },
        { label: "Overdue bills", cell: (p) => String(p.bill_count), numeric: true },
        { label: "Oldest due date", cell: (p) => (p.oldest_due_date ? dateIST(p.oldest_due_date) : "—") },
        { label: "Days overdue", cell: (p) => String(p.max_days_overdue), numeric: true },
        { label: "Amount due", cell: (p) => h("span", { class: "amount", text: rupees(p.total_due) }), numeric: true },
        { label: "Bills", cell: (p) => { const cell = h("div", {}); cell.append(payerBills(p, cell)); return cell; } },
      ], shownRows, { caption: "Payers who owe on bills past their due date" })
      : emptyState(nextCursor ? "Nobody on this page matches; there are more pages." : "Nobody owes anything past a due date."),
    more);
}

async function loadDefaulters(query, cursor = null) {
  if (!cursor) {
    shownPages = [];
    shownRows = [];
    shownTotals = [];
    showLoading("defaulter-list", "Loading defaulters");
  }
  try {
    const list = await get("/admin/defaulters", { ...query, ...(cursor ? { cursor } : {}) });
    shownPages.push(cursor);
    shownRows = shownRows.concat(list.defaulters);
    shownTotals.push(list.total_due);
    nextCursor = list.cursor;
    renderDefaulters(list.as_of);
  } catch (error) {
    fill("defaulter-list", errorState(error));
  }
}

onSubmit(filter, async (query) => loadDefaulters(query));

action(document.getElementById("defaulters-csv"), async () => {
  // One CSV request per page shown; the header row once.
  const query = values(filter);
  const parts = [];
  for (const cursor of shownPages.length ? shownPages : [null]) {
    const csv = await api("/admin/defaulters/csv", { query: { ...query, ...(cursor ? { cursor } : {}) }, accept: "text/csv" });
    parts.push(parts.length ? csv.slice(csv.indexOf("\r\n") + 2) : csv);
  }
  const url = URL.createObjectURL(new Blob([parts.join("")], { type: "text/csv" }));
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
      { label: "Refunds", cell: (p) => (p.refunds.length ? h("div", { class: "small" }, p.refunds.map((r) => h("div", {}, badge(r.status), ` ${rupees(r.amount)} · ${label(r.kind)} · ${r.reason}`))) : "—") },
    ], payments, { caption: `Payments of ${query.bill_id}` })
    : emptyState("No payments for this bill yet."));
});

onSubmit(document.getElementById("refund-form"), async (body, form) => {
  const request = { reason: body.reason, request_id: form.dataset.requestId || crypto.randomUUID().replaceAll("-", "") };
  form.dataset.requestId = request.request_id;  // a second click is the same refund
  if (body.amount) request.amount = body.amount;
  const refund = await post(`/admin/payments/${encodeURIComponent(body.payment_id)}/refunds`, request);
  delete form.dataset.requestId;
  form.reset();
  notify(`Refund of ${rupees(refund.amount)} for ${refund.payment_id}: ${label(refund.status)}.`);
});

const KINDS = {
  missed_webhook_repaired: "Missed notification, applied",
  missed_refund_webhook_repaired: "Missed refund notification, marked processed",
  captured_unknown_here: "Captured at the gateway, unknown here",
  applied_not_captured: "Applied here, not captured at the gateway",
  amount_differs: "Amounts differ",
};

function showReconciliation(report) {
  const t = report.totals;
  fill("reconciliation",
    t ? h("div", {},
      h("p", {}, `Reconciled ${dateTimeIST(report.run_at)} for ${dateIST(report.day)}.`),
      h("div", { class: "row g-3 mb-3", id: "reconciliation-totals" },
        [["Captured at the gateway", `${t.gateway_captured_count} · ${rupees(t.gateway_captured)}`],
          ["Captured here (online)", `${t.our_captured_count} · ${rupees(t.our_captured)}`],
          ["Matched", `${t.matched_count} · ${rupees(t.matched)}`],
          ["Settled by the gateway", `${t.settlements_count} · ${rupees(t.settled)}`],
          ["Gateway fees (tax)", `${rupees(t.settlement_fees)} (${rupees(t.settlement_tax)})`],
          ["Refunds settled", `${t.refunds_count} · ${rupees(t.refunded)}`],
          ["Open mismatches", String(t.open_mismatches)],
          ["Repaired", String(t.repaired)]].map(([name, value]) => h("div", { class: "col-sm-6 col-lg-3" },
          h("div", { class: "border rounded p-2 h-100" }, h("div", { class: "stat-label", text: name }), h("div", { class: "fw-semibold amount", "data-total": name, text: value })))))) : emptyState("This day has not been reconciled yet."),
    report.items.length ? table([
      { label: "Status", cell: (i) => badge(i.status === "open" ? "overdue" : "completed", i.status === "open" ? "Open" : "Repaired") },
      { label: "What", cell: (i) => KINDS[i.kind] || label(i.kind) },
      { label: "Payment", cell: (i) => h("span", { class: "font-monospace small", text: i.payment_id || "—" }) },
      { label: "Bill", cell: (i) => (i.bill_id ? link(`bill.html?id=${encodeURIComponent(i.bill_id)}`, i.bill_id, "font-monospace small") : "—") },
      { label: "Gateway", cell: (i) => `${i.gateway_status || "—"}${i.gateway_amount ? ` · ${rupees(i.gateway_amount)}` : ""}` },
      { label: "Here", cell: (i) => `${i.our_status || "—"}${i.our_amount ? ` · ${rupees(i.our_amount)}` : ""}` },
      { label: "Detail", cell: (i) => i.detail || "" },
    ], report.items, { caption: `Reconciliation of ${report.day}` }) : (t ? emptyState("Everything matched.") : null));
}

const reconciliationForm = document.getElementById("reconciliation-form");
const yesterday = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Kolkata" }).format(new Date(Date.now() - 86_400_000));
reconciliationForm.elements.day.value = yesterday;
onSubmit(reconciliationForm, async (query) => showReconciliation(await get("/admin/payments/reconciliation", { day: query.day })));
action(document.getElementById("reconcile-now"), async () => {
  const report = await post("/admin/payments/reconciliation", { day: reconciliationForm.elements.day.value || yesterday });
  showReconciliation(report);
  notify(`Reconciled ${dateIST(report.day)}: ${report.totals.open_mismatches} open, ${report.totals.repaired} repaired.`);
});

action(document.getElementById("mark-overdue"), async () => {
  const run = await post("/admin/bills/mark-overdue");
  notify(`Overdue sweep queued (${run.shards_queued} slices): bills due before ${dateIST(run.as_of)} become overdue over the next minutes.`);
});

onSubmit(document.getElementById("offline-form"), async (body, form) => {
  const payment = await post(`/admin/bills/${encodeURIComponent(body.bill_id)}/offline-payments`,
    { method: body.method, reference: body.reference });
  form.reset();
  notify(`Recorded ${rupees(payment.amount)} by ${label(payment.method).toLowerCase()} for ${payment.bill_id}.`);
});

await loadDefaulters(values(filter));
