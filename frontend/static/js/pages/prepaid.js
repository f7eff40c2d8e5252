// The prepaid dashboard (issue 24): balance, days left at the recent rate, a chart of the
// daily debits, a recharge through the payment gateway, and the ledger with every debit
// explained. Without ?c= it shows the first of the customer's prepaid connections.
import { get, post, put } from "../api.js";
import { boot, h, fill, facts, badge, table, emptyState, errorState, errorMessage, notify, onSubmit, param } from "../ui.js";
import { dateIST, rupees, toPaise, units } from "../format.js";
import { consumptionChart } from "../consumption_chart.js";
import { LANG, t } from "../i18n.js";

await boot("customer");
const form = document.getElementById("recharge-form");
let connection = param("c");

async function prepaidConnection() {
  if (connection) return get(`/prepaid/${encodeURIComponent(connection)}`);
  const properties = await get("/properties").catch(() => []);
  for (const property of properties.slice(0, 10)) {
    const view = await get(`/prepaid/${encodeURIComponent(property.property_id)}`).catch(() => null);
    if (view && view.mode === "prepaid") return view;
  }
  return null;
}

function chart(points) {
  if (!points.length) return emptyState(t("No daily charges yet: the first comes after the next daily meter reading."));
  const biggest = Math.max(0.01, ...points.map((p) => Math.abs(Number(p.debit))));
  return h("div", { class: "small" }, points.map((p) => {
    const bar = h("span", { class: "d-inline-block bg-primary" });
    bar.style.height = "0.8rem";  // sized through the CSSOM: the CSP allows no inline styles
    bar.style.width = `${(Math.abs(Number(p.debit)) / biggest) * 60}%`;
    return h("div", { class: "d-flex align-items-center gap-2 mb-1 daily-point", role: "img", "aria-label": t("{day}: {amount}", { day: dateIST(p.day), amount: rupees(p.debit) }) },
      h("span", { class: "text-nowrap", text: dateIST(p.day) }), h("span", { class: "flex-grow-1" }, bar),
      h("span", { class: "text-nowrap amount", text: rupees(p.debit) }));
  }));
}

// What a ledger entry's kind reads as, in the page's language.
const ENTRY_KINDS = { recharge: t("recharge"), debit: t("debit"), adjustment: t("adjustment") };

// An entry's explanation in the page's language from its facts; an admin's adjustment
// keeps the reason as written, and an English page (or an entry without the facts) the
// API's own English.
function entryText(e) {
  if (LANG === "en") return e.explanation;
  if (e.kind === "recharge" && e.payment_id) {
    return t("Recharge {amount} (payment {payment})", { amount: rupees(e.amount), payment: e.payment_id });
  }
  if (e.kind === "debit" && e.charge_to_date != null && e.posted_before != null && e.units_to_date != null) {
    const [year, month, day] = e.day.split("-").map(Number);
    return t("{units} since {since}: charge to date {charge} ({days}/{month_days} of the month's fixed charges) less {before} already debited", {
      units: units(e.units_to_date), since: dateIST(`${e.day.slice(0, 8)}01`), charge: rupees(e.charge_to_date),
      days: day, month_days: new Date(Date.UTC(year, month, 0)).getUTCDate(), before: rupees(e.posted_before),
    });
  }
  if (e.carried_balance != null) {
    return t("Balance {amount} carried to the postpaid account from {day}", { amount: rupees(e.carried_balance), day: dateIST(e.day) });
  }
  return e.explanation;
}

function ledger(view) {
  if (!view.ledger.length) return emptyState(t("Nothing in the ledger yet."));
  return table([
    { label: t("Day"), cell: (e) => dateIST(e.day) },
    { label: t("Entry"), cell: (e) => badge(e.kind, ENTRY_KINDS[e.kind] || e.kind) },
    { label: t("Amount"), cell: (e) => h("span", { class: "amount", text: rupees(e.amount) }), numeric: true },
    { label: t("Explanation"), cell: (e) => h("span", { class: "small", text: entryText(e) }) },
  ], view.ledger, { caption: t("Ledger, newest first"), stack: true });
}

// The statement's notes in the page's language from their facts (else the API's English).
function statementNote(n) {
  switch (n.code) {
    case "final_bill": return t("Postpaid until {day}: the final bill {bill} charged {amount} for those days; the debits start the day after, each less what was charged before.", { day: dateIST(n.day), bill: n.bill_id, amount: rupees(n.amount) });
    case "to_postpaid": return t("Postpaid from {day}: the month's postpaid bill takes these debits ({amount}) off and carries the balance left.", { day: dateIST(n.day), amount: rupees(n.amount) });
    case "no_postpaid_bill": return t("No postpaid bill to compare: {reason}.", { reason: n.reason || "" });
    case "nothing_debited": return t("Nothing debited this month yet.");
    case "postpaid_month": return t("Postpaid this month: no daily debits.");
    case "equal": return t("The debits to {day} equal the postpaid bill of the same consumption and tariff to the paisa.", { day: dateIST(n.day) });
    case "differ": return t("They differ by {amount}: a debit was adjusted, or the tariff or the reads changed after it was posted.", { amount: rupees(n.amount) });
    default: return n.text;
  }
}

function statementNotes(s) {
  return LANG !== "en" && s.notes && s.notes.length ? s.notes.map(statementNote).join(" ") : s.explanation;
}

// The month's statement: the daily debits (and a final postpaid bill of the days before a
// change to prepaid) beside the postpaid bill of the same use, and whether they agree.
function statement(s) {
  const debits = s.days.length ? table([
    { label: t("Day"), cell: (d) => dateIST(d.day) },
    { label: t("Charge"), cell: (d) => h("span", { class: "amount", text: rupees(d.debit) }), numeric: true },
  ], s.days, { caption: t("Daily charges") }) : emptyState(t("No daily charges this month."));
  const prepaid = h("div", { class: "col-md-6" }, h("h3", { class: "h6", text: t("Prepaid: daily charges") }), debits,
    s.final_bill ? h("p", { class: "small", text: t("Final postpaid bill {bill}, {first} to {last}: {amount}", { bill: s.final_bill.bill_id, first: dateIST(s.final_bill.first_day), last: dateIST(s.final_bill.last_day), amount: rupees(s.final_bill.amount) }) }) : null,
    facts([[t("Total"), h("span", { class: "amount fw-semibold", id: "statement-prepaid-total", text: rupees(s.prepaid_total) })]], "row mb-0 facts-wide"));
  const bill = s.postpaid;
  const postpaid = h("div", { class: "col-md-6" }, h("h3", { class: "h6", text: t("Postpaid bill of the same use") }),
    bill ? table([
      { label: t("Charge"), cell: (l) => l.label },
      { label: t("Amount"), cell: (l) => h("span", { class: "amount", text: rupees(l.amount) }), numeric: true },
    ], bill.lines, { caption: t("Postpaid bill to {day}", { day: dateIST(bill.last_day) }) }) : emptyState(t("Nothing to compare yet.")),
    bill ? facts([[t("Total"), h("span", { class: "amount fw-semibold", id: "statement-postpaid-total", text: rupees(bill.total) })]], "row mb-0 facts-wide") : null);
  return h("div", {}, h("div", { class: "row g-4 mb-2" }, prepaid, postpaid),
    h("p", { class: "mb-0", id: "statement-verdict" },
      badge(s.equal ? "accepted" : "held", s.equal ? t("Equal to the paisa") : t("Differs by {amount}", { amount: rupees(s.difference) })), " ",
      h("span", { class: "small", text: statementNotes(s) })));
}

async function showStatement(month) {
  try {
    fill("statement", statement(await get(`/prepaid/${encodeURIComponent(connection)}/statements/${encodeURIComponent(month)}`)));
  } catch (error) {
    fill("statement", errorState(error));
  }
}

// The daily balance SMS (balance and the day's charge after each daily debit): the
// customer's own choice for this connection.
function dailySms(view) {
  const box = h("input", { class: "form-check-input", type: "checkbox", id: "daily-sms" });
  box.checked = Boolean(view.daily_sms);
  box.addEventListener("change", async () => {
    box.disabled = true;
    try {
      const saved = await put(`/prepaid/${encodeURIComponent(view.connection_id)}/daily-sms`, { enabled: box.checked });
      box.checked = saved.daily_sms;
      notify(saved.daily_sms ? t("You will get your balance by SMS every day.") : t("The daily balance SMS is off."));
    } catch (error) {
      box.checked = !box.checked;
      notify(errorMessage(error), "danger");
    } finally {
      box.disabled = false;
    }
  });
  return h("div", { class: "form-check mt-3" }, box,
    h("label", { class: "form-check-label", for: "daily-sms", text: t("Send me my balance and the day's charge by SMS every day") }));
}

try {
  const view = await prepaidConnection();
  if (!view) {
    fill("prepaid-summary", emptyState(t("None of your connections is prepaid.")));
    fill("ledger");
  } else {
    connection = view.connection_id;
    const low = Number(view.balance) <= 0;
    fill("prepaid-summary", h("section", { class: "card mb-4", "aria-labelledby": "balance-title" }, h("div", { class: "card-body" },
      h("h2", { class: "stat-label h6 mb-1", id: "balance-title", text: t("Balance") }),
      h("p", { class: `display-6 fw-semibold amount mb-2${low ? " text-danger" : ""}`, id: "prepaid-balance", text: rupees(view.balance) }),
      facts([
        [t("Days left"), h("span", { id: "days-left", text: view.days_left === null ? t("not yet known") : String(view.days_left) })],
        [t("Average daily charge"), rupees(view.average_daily_debit)],
        [t("Emergency credit"), rupees(view.emergency_credit)],
        [t("Supply"), badge(view.relay, view.relay === "connected" ? t("Connected") : t("Disconnected"))],
        [t("Smallest recharge"), h("span", { id: "min-recharge", text: rupees(view.min_recharge) })],
      ], "row mb-0 facts-wide"), dailySms(view))));
    fill("daily-chart", chart(view.daily));
    // kWh per day beside the charges: the connection's meter, from its property.
    get(`/properties/${encodeURIComponent(connection)}`).then((property) => {
      if (property.meter_id) document.getElementById("daily-chart").closest("section").after(consumptionChart(property.meter_id));
    }).catch(() => {});
    fill("ledger", ledger(view));
    document.getElementById("recharge-card").hidden = false;
    // The statement of the month last charged (else this month), any month on request.
    const monthField = document.getElementById("statement-month");
    const latest = view.daily.length ? view.daily[view.daily.length - 1].day : new Date().toISOString();
    monthField.value = latest.slice(0, 7);
    monthField.addEventListener("change", () => { if (monthField.value) showStatement(monthField.value); });
    document.getElementById("statement-card").hidden = false;
    showStatement(monthField.value);
  }
} catch (error) {
  fill("prepaid-summary", errorState(error));
  fill("ledger");
}

onSubmit(form, async (values) => {
  const order = await post(`/prepaid/${encodeURIComponent(connection)}/recharge`,
    { amount_paise: Number(toPaise(values.amount)), method: values.method });
  if (!/^https?:\/\//.test(order.checkout_url)) throw new Error("unexpected checkout address");
  location.assign(order.checkout_url);
});
