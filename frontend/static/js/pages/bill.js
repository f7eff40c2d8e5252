import { get } from "../api.js";
import { boot, h, fill, facts, table, errorState, link, param, badge, notify } from "../ui.js";
import { dateIST, dateTimeIST, label, period, rupees, units } from "../format.js";
import { lineQuantity, lineRate, owes, payHref, statusBadges } from "../bill_view.js";
import { addressLine } from "../property_view.js";
import { LANG, t } from "../i18n.js";

const me = await boot("user");
const id = param("id") || "";

const kwh = (wh) => `${(BigInt(wh) / 1000n).toString()}.${String(BigInt(wh) % 1000n).padStart(3, "0")} kWh`;


// One row per meter: previous and current register (a first bill's previous is the
// installation register; after a replacement, the old meter's final and the new one's first).
function registerCell(value) {
  if (!value) return "—";
  return h("span", {}, h("span", { class: "amount", text: kwh(value.register_wh) }),
    value.read_at ? h("div", { class: "small text-body-secondary", text: dateTimeIST(value.read_at) }) : null,
    value.note ? h("div", { class: "small text-body-secondary", text: value.note }) : null);
}

const meterRole = { meter: t("Meter"), replaced_meter: t("Old meter (replaced)"), new_meter: t("New meter") };

function registers(bill) {
  if (!bill.registers.length) return h("p", { class: "text-body-secondary", text: t("Not read: the units are estimated.") });
  return table([
    { label: t("Meter"), cell: (r) => h("span", {}, meterRole[r.role] || t("Meter"), h("div", { class: "small font-monospace", text: r.meter_id })) },
    { label: t("Previous register"), cell: (r) => registerCell(r.previous) },
    { label: t("Current register"), cell: (r) => registerCell(r.current) },
    { label: t("Units"), cell: (r) => (r.units === null ? "—" : units(r.units)), numeric: true },
  ], bill.registers, { caption: t("Meter registers") });
}

// A smart (protocol v2) meter's billing snapshot: consumption per time-of-day zone, export
// (rooftop solar) and the month's maximum demand. Tariffs price them (ToD rates, net
// metering, demand charges); here they are shown so the customer can check them.
function smartMeterCard(bill) {
  const smart = bill.smart_meter;
  if (!smart) return null;
  const zones = table([
    { label: t("Zone"), cell: (z) => t("Zone {zone}", { zone: z.zone }) },
    { label: t("Hours (IST)"), cell: (z) => z.hours },
    { label: t("Register"), cell: (z) => h("span", { class: "amount", text: kwh(z.register_wh) }), numeric: true },
    { label: t("Units this month"), cell: (z) => (z.units === null ? "—" : units(z.units)), numeric: true },
  ], smart.zones, { caption: t("Consumption by time of day") });
  const biggest = Math.max(1, ...smart.zones.map((z) => z.units || 0));
  const bar = (z) => {  // sized through the CSSOM: the portal's CSP allows no inline styles
    const element = h("span", { class: "bg-primary rounded d-inline-block" });
    element.style.height = ".75rem";
    element.style.width = `${Math.round(((z.units || 0) / biggest) * 60)}%`;
    return element;
  };
  const chart = h("div", { class: "zone-chart mb-3", role: "img", "aria-label": t("Units by time of day") + ": " + smart.zones.map((z) => t("Zone {zone}", { zone: z.zone }) + ` ${z.units ?? "—"}`).join(", ") },
    smart.zones.map((z) => h("div", { class: "d-flex align-items-center gap-2 small" },
      h("span", { class: "text-nowrap font-monospace", text: z.hours }),
      bar(z),
      h("span", { text: z.units === null ? "" : units(z.units) }))));
  return h("section", { class: "card mb-4", id: "smart-meter", "aria-labelledby": "smart-title" }, h("div", { class: "card-body" },
    h("h2", { class: "h5", id: "smart-title", text: t("Time of day, export and demand") }),
    chart, zones,
    facts([
      [t("Readings"), smart.register_source_display],
      [t("Exported (solar)"), h("span", { id: "smart-export" }, h("span", { class: "amount", text: kwh(smart.export_wh) }),
        smart.export_units === null ? null : h("div", { class: "small text-body-secondary", text: t("{units} this month", { units: units(smart.export_units) }) }))],
      [t("Maximum demand"), h("span", { id: "smart-demand" }, smart.max_demand_display,
        smart.max_demand_at ? h("div", { class: "small text-body-secondary", text: dateTimeIST(smart.max_demand_at) }) : null)],
    ])));
}

// Net metering's units and bank, the billing demand, a tariff revised inside the period.
function tariffRulesCard(bill) {
  const rules = bill.tariff_rules;
  if (!rules) return null;
  const rows = [];
  if (rules.banked_units_out !== null) {
    rows.push([t("Imported"), units(rules.import_units)]);
    if (rules.export_units !== null) rows.push([t("Exported"), units(rules.export_units)]);
    rows.push([t("Banked units brought forward"), h("span", { id: "bill-banked-in", text: units(rules.banked_units_in ?? 0) })]);
    if (rules.billed_units !== null) rows.push([t("Units billed (import − export − banked)"), h("strong", { id: "bill-billed-units", text: units(rules.billed_units) })]);
    if (rules.settled_units) rows.push([t("Banked units settled at year end"), units(rules.settled_units)]);
    rows.push([t("Banked units carried forward"), h("span", { id: "bill-banked-out", text: units(rules.banked_units_out) })]);
  }
  if (rules.billing_demand_kw !== null) rows.push([t("Billing demand"), h("span", { id: "bill-billing-demand", text: `${rules.billing_demand_kw} kW` })]);
  if (rules.tariff_segments.length) rows.push([t("Tariff revised in the month"), h("ul", { class: "list-unstyled mb-0" }, rules.tariff_segments.map((s) => h("li", { class: "small", text: s })))]);
  if (!rows.length) return null;
  return h("section", { class: "card mb-4", id: "tariff-rules", "aria-labelledby": "tariff-rules-title" }, h("div", { class: "card-body" },
    h("h2", { class: "h5", id: "tariff-rules-title", text: rules.banked_units_out !== null ? t("Net metering") : t("Tariff details") }),
    facts(rows)));
}

const nonZero = (amount) => amount !== null && amount !== undefined && Number(amount) !== 0;

// Charges of the period, credits netted and arrears brought forward, as Indian bills show them.
function netting(bill) {
  return [
    bill.charges !== bill.total ? [t("This period's charges"), h("span", { class: "amount", text: rupees(bill.charges) })] : null,
    nonZero(bill.credit_brought_forward) ? [t("Credit brought forward"), `− ${rupees(bill.credit_brought_forward)}`] : null,
    nonZero(bill.credit_to_open_bills) ? [t("Credit taken off earlier bills"), rupees(bill.credit_to_open_bills)] : null,
    nonZero(bill.credit_carried_forward) ? [t("Credit carried to next bill"), rupees(bill.credit_carried_forward)] : null,
    nonZero(bill.credit_applied) ? [t("Credit from a later bill"), `− ${rupees(bill.credit_applied)}`] : null,
    [t("This bill"), h("span", { class: "amount", id: "bill-this-amount", text: rupees(bill.total) })],
    [t("Arrears brought forward"), h("span", {}, h("span", { class: "amount", id: "bill-arrears", text: rupees(bill.arrears) }),
      nonZero(bill.arrears_surcharge) ? h("div", { class: "small text-body-secondary", text: t("incl. late-payment surcharge {amount}", { amount: rupees(bill.arrears_surcharge) }) }) : null)],
    [t("Total payable"), h("strong", { class: "amount", id: "bill-total-payable", text: rupees(bill.total_payable) })],
  ];
}

function lineItems(bill) {
  const split = bill.share_count > 1;
  // On a phone the quantity and rate go under the charge's name, so the Amount column fits.
  const wide = "text-end text-nowrap d-none d-sm-table-cell";
  const columns = [
    { label: t("Charge"), cell: (l) => h("span", {}, l.label, (lineQuantity(l) || lineRate(l))
      ? h("div", { class: "small text-body-secondary d-sm-none", text: [lineQuantity(l), lineRate(l)].filter(Boolean).join(" × ") }) : null) },
    { label: t("Quantity"), cell: lineQuantity, class: wide },
    { label: t("Rate"), cell: lineRate, class: wide },
  ];
  if (split) columns.push({ label: t("Whole property"), cell: (l) => (l.property_amount === null ? "" : rupees(l.property_amount)), class: wide });
  columns.push({ label: split ? t("Your share") : t("Amount"), cell: (l) => h("span", { class: "amount", text: rupees(l.amount) }), numeric: true });
  const wrapper = table(columns, bill.line_items, { caption: t("Charges") });
  const rules = bill.tariff_rules;
  const footRow = (text, amount, id, cls = "") => h("tr", { class: cls },
    h("th", { scope: "row", colspan: String(columns.length - 1), text }),
    h("td", { class: "text-end amount", id, text: rupees(amount) }));
  // A subsidised bill shows the gross amount, the subsidy and the net amount.
  const subsidised = rules && Number(rules.subsidy_total) !== 0;
  const foot = h("tfoot", {},
    subsidised ? footRow(t("Gross amount"), rules.gross_total, "bill-gross") : null,
    subsidised ? footRow(t("Subsidy"), rules.subsidy_total, "bill-subsidy") : null,
    subsidised && rules.net_total !== bill.total ? footRow(t("Net amount"), rules.net_total, "bill-net") : null,
    footRow(subsidised ? t("Total (net)") : t("Total"), bill.total, "bill-total", "fw-semibold"));
  wrapper.querySelector("table").append(foot);
  return wrapper;
}

// The checkout sends the payer back here with what happened.
const OUTCOMES = {
  paid: [t("Thank you: your payment is received and the bill is paid."), "success"],
  failed: [t("The payment did not go through. Nothing was taken; you can try again."), "danger"],
  not_applied: [t("This bill was already settled, so your payment is being refunded in full. We have emailed you the details."), "warning"],
  pending: [t("Your payment is being confirmed by the bank. This page shows it once it is."), "warning"],
};

function upiCard(upi) {
  return h("section", { class: "card mb-4 upi-card", "aria-labelledby": "upi-title" }, h("div", { class: "card-body text-center" },
    h("h2", { class: "h5", id: "upi-title", text: t("Pay by UPI") }),
    h("img", { src: upi.qr_svg, alt: t("UPI QR code: pay {amount} to {vpa}", { amount: rupees(upi.amount), vpa: upi.vpa }), id: "upi-qr", class: "upi-qr mb-2", width: "180", height: "180" }),
    h("p", { class: "small mb-1" }, t("Scan with any UPI app"),
      h("span", { class: "no-print" }, t(", or "), h("a", { href: upi.link, id: "upi-link", text: t("open your UPI app") })), "."),
    facts([
      [t("UPI id"), h("span", { class: "font-monospace", text: upi.vpa })],
      [t("Amount"), h("span", { class: "amount", text: rupees(upi.amount) })],
      [t("Reference"), h("span", { class: "font-monospace small", text: upi.bill_id })],
    ], "row mb-0 small facts-wide text-start")));
}

function refundLine(r) {
  const text = t("Refund {amount}: {reason}", { amount: rupees(r.amount), reason: r.reason });
  return h("div", { class: "small refund", "data-refund-status": r.status }, badge(r.status === "processed" ? "completed" : "pending", r.status === "processed" ? t("Refunded") : t("Refund in progress")), " ", text,
    r.processed_at ? h("span", { class: "text-body-secondary", text: ` · ${dateTimeIST(r.processed_at)}` }) : null);
}

function paymentItem(p) {
  return h("li", { class: "mb-2" },
    h("div", {}, badge(p.status), " ", h("span", { class: "amount", text: rupees(p.amount) }), " ", t("by {method}", { method: label(p.method) }),
      p.status === "captured" && !p.applied ? h("span", { class: "small text-body-secondary", text: " · " + t("not applied to this bill") }) : null),
    h("div", { class: "small text-body-secondary", text: dateTimeIST(p.paid_at) + (p.reference ? " · " + t("ref {reference}", { reference: p.reference }) : "") }),
    (p.refunds || []).map(refundLine));
}

// What a customer looks for first, above the details (and first on a phone): the
// amount due, the due date and the Pay button.
function dueFirst(bill) {
  if (!owes(bill)) return null;
  return h("section", { class: "card border-primary-subtle bg-primary-subtle mb-4", id: "bill-due", "aria-label": t("Amount due") },
    h("div", { class: "card-body d-flex flex-wrap align-items-center gap-3 py-3" },
      h("div", {}, h("div", { class: "small text-body-secondary", text: t("Amount due") }),
        h("div", { class: "stat-value amount", id: "bill-due-amount", text: rupees(bill.amount_due) })),
      h("div", {}, h("div", { class: "small text-body-secondary", text: t("Due date") }),
        h("div", { class: "fw-semibold", id: "bill-due-date", text: dateIST(bill.due_date) })),
      me.role === "customer" ? link(payHref(bill.bill_id), t("Pay {amount}", { amount: rupees(bill.amount_due) }), "btn btn-primary btn-lg ms-sm-auto") : null));
}

// The PDF is made once and kept; the API answers with a download link valid a few minutes.
async function downloadPdf() {
  try {
    const pdf = await get(`/bills/${encodeURIComponent(id)}/pdf?lang=${encodeURIComponent(LANG)}`);
    if (!/^https?:\/\//.test(pdf.url)) throw new Error("unexpected download address");
    location.assign(pdf.url);
  } catch {
    notify(t("The PDF could not be made. Please try again."), "danger");
  }
}

async function load() {
  try {
    const bill = await get(`/bills/${encodeURIComponent(id)}`);
    const [payments, property, upi] = await Promise.all([
      get(`/bills/${encodeURIComponent(id)}/payments`).catch(() => []),
      me.role === "customer" ? get(`/properties/${encodeURIComponent(bill.property_id)}`).catch(() => null) : null,
      owes(bill) ? get(`/bills/${encodeURIComponent(id)}/upi`).catch(() => null) : null,
    ]);
    document.title = t("Bill {month}", { month: period(bill.period) }) + " · " + document.title.split(" · ").pop();
    fill("bill",
      h("div", { class: "d-flex flex-wrap align-items-start gap-3 mb-3" },
        h("div", { class: "flex-grow-1" },
          h("h1", { class: "page-title", text: t("Electricity bill, {month}", { month: period(bill.period) }) }),
          bill.consumer_number ? h("p", { class: "fw-semibold mb-1", id: "bill-consumer-number" },
            t("Consumer number") + ": ", h("span", { class: "font-monospace", text: bill.consumer_number })) : null,
          h("p", { class: "text-body-secondary mb-1" }, h("span", { class: "font-monospace", text: bill.bill_id })),
          statusBadges(bill)),
        h("div", { class: "d-flex gap-2 no-print" },
          h("button", { type: "button", class: "btn btn-outline-secondary", id: "bill-pdf", text: t("Download PDF"), on: { click: downloadPdf } }),
          h("button", { type: "button", class: "btn btn-outline-secondary", text: t("Print"), on: { click: () => window.print() } }))),
      dueFirst(bill),
      h("div", { class: "row g-4" },
        h("div", { class: "col-lg-8" },
          h("section", { class: "card mb-4", "aria-labelledby": "charges-title" }, h("div", { class: "card-body" },
            h("h2", { class: "h5", id: "charges-title", text: t("Charges") }),
            lineItems(bill),
            bill.share_count > 1 ? h("p", { class: "small text-body-secondary mb-0", text: t("The occupant changed during the month: this is your share for {days} ({fraction} of the month). The whole property's bill was {total}.", { days: bill.share_days_display, fraction: bill.days_fraction, total: rupees(bill.property_total) }) }) : null,
            bill.estimated ? h("p", { class: "small text-body-secondary mb-0", text: t("The meter did not answer this month, so the units are estimated from your recent consumption. The next actual reading corrects it.") }) : null,
            bill.read_from_at ? h("p", { class: "small text-body-secondary mb-0", "data-read-from": "daily", text: t("Read from the daily snapshot of {day} (00:00 IST): the meter did not answer the billing run with a usable reading.", { day: dateIST(bill.read_from_at) }) }) : null,
            bill.trued_up_periods.length ? h("p", { class: "small text-body-secondary mb-0", text: `This bill corrects the estimated ${bill.trued_up_periods.map((p) => period(p)).join(", ")} (${bill.estimated_units_trued_up} kWh estimated then).` }) : null)),
          h("section", { class: "card mb-4", "aria-labelledby": "registers-title" }, h("div", { class: "card-body" },
            h("h2", { class: "h5", id: "registers-title", text: t("Meter readings") }),
            registers(bill),
            facts([
              [t("Units billed"), units(bill.units)],
              bill.actual_units !== null && bill.actual_units !== bill.units ? [t("Units measured"), units(bill.actual_units)] : null,
              bill.share_units ? [t("Your share of units"), units(bill.share_units)] : null,
              [t("Meter"), h("span", { class: "font-monospace", text: bill.meter_id })],
            ]))),
          tariffRulesCard(bill),
          smartMeterCard(bill)),
        h("div", { class: "col-lg-4" },
          upi ? upiCard(upi) : null,
          h("section", { class: "card mb-4", "aria-labelledby": "summary-title" }, h("div", { class: "card-body" },
            h("h2", { class: "h5", id: "summary-title", text: t("Summary") }),
            facts([
              ...netting(bill),
              [t("Amount due"), h("strong", { class: "amount", id: "bill-amount-due", text: rupees(bill.amount_due) })],
              [t("Due date"), dateIST(bill.due_date)],
              Number(bill.late_surcharge) > 0 ? [t("Late surcharge"), rupees(bill.late_surcharge)] : null,
              [t("Late-payment surcharge"), t("{percent}% after the due date", { percent: bill.late_payment_surcharge_percent })],
              bill.paid_at ? [t("Paid"), dateTimeIST(bill.paid_at)] : null,
              [t("Issued"), dateIST(bill.issued_at)],
              [t("Period"), bill.share_days_display],
              [t("Property"), property ? link(`property.html?id=${encodeURIComponent(bill.property_id)}`, addressLine(property.address)) : h("span", { class: "font-monospace small", text: bill.property_id })],
              [t("Category"), label(bill.category)],
              [t("Sanctioned load"), `${bill.sanctioned_load_kw} kW`],
              [t("Tariff"), h("span", {}, bill.tariff_name, h("div", { class: "small text-body-secondary", text: bill.tariff_version }))],
            ], "row mb-0 small facts-wide"))),
          h("section", { class: "card mb-4", "aria-labelledby": "payments-title" }, h("div", { class: "card-body" },
            h("h2", { class: "h5", id: "payments-title", text: t("Payments") }),
            payments.length ? h("ul", { class: "list-unstyled mb-0", id: "bill-payments" }, payments.map(paymentItem))
              : h("p", { class: "text-body-secondary mb-0", text: t("No payments yet.") }),
            me.role === "customer" ? link(`tickets.html?bill=${encodeURIComponent(bill.bill_id)}#raise`, t("Question about this bill?"), "small no-print") : null)))));
  } catch (error) {
    fill("bill", errorState(error));
  }
}

const outcome = OUTCOMES[param("payment") || ""];
if (outcome) notify(...outcome);
await load();
