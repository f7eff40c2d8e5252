import { get, post } from "../api.js";
import { boot, h, fill, facts, emptyState, errorState, link, badge, table, action } from "../ui.js";
import { dateIST, label, period, rupees, units } from "../format.js";
import { billActions, lastMonths, owes, payHref, statusBadges, unitsByMonth } from "../bill_view.js";
import { addressLine } from "../property_view.js";
import { t } from "../i18n.js";

const me = await boot("customer");

const WAITING = {
  pending_review: [t("Your account is waiting for an administrator's review."), t("We email you as soon as it is verified. Then you can add your properties and see your bills.")],
  rejected: [t("Your account was not approved."), t("Please contact the office.")],
  suspended: [t("Your account is suspended."), t("Please contact the office.")],
};

function outstanding(balance) {
  const overdue = balance.overdue && Number(balance.overdue) > 0;
  return [
    h("p", { class: "stat-value amount mb-1", id: "outstanding-amount", text: rupees(balance.outstanding) }),
    h("p", { class: "small text-body-secondary mb-2", text: balance.bills.length
      ? (balance.bills.length === 1 ? t("1 unpaid bill") : t("{count} unpaid bills", { count: balance.bills.length }))
      : t("Nothing to pay. Thank you!") }),
    overdue ? h("p", { class: "small text-danger fw-semibold mb-2", text: t("{amount} is overdue", { amount: rupees(balance.overdue) }) }) : null,
    balance.bills.length === 1 ? link(payHref(balance.bills[0].bill_id), t("Pay now"), "btn btn-primary btn-sm") : null,
    balance.bills.length > 1 ? link("bills.html?status=unpaid", t("See unpaid bills"), "btn btn-primary btn-sm") : null,
  ];
}

function latestBill(bill) {
  if (!bill) return emptyState(t("No bills yet. Your first bill appears after the next monthly meter reading."));
  return h("div", { class: "row g-3 align-items-center" },
    h("div", { class: "col-sm-5" },
      h("p", { class: "mb-1 fw-semibold", text: period(bill.period) }),
      h("p", { class: "stat-value amount mb-1", id: "latest-amount", text: rupees(bill.total) }),
      statusBadges(bill)),
    h("div", { class: "col-sm-7" },
      facts([
        [t("Units"), units(bill.units)],
        [t("Due date"), dateIST(bill.due_date)],
        owes(bill) ? [t("Amount due"), rupees(bill.amount_due)] : [t("Paid"), t("Yes")],
      ]),
      billActions(bill)));
}

let chart = null;
function drawChart(bills) {
  const data = unitsByMonth(bills, lastMonths(12));
  const canvas = document.getElementById("usage-chart");
  if (data.every((d) => d.units === 0)) {
    fill("usage-chart-box", emptyState(t("No consumption to show yet: it appears here month by month as your meter is read.")));
    document.getElementById("usage-chart-box").classList.remove("chart-box");
    return;
  }
  if (window.Chart) {
    chart?.destroy();
    chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.map((d) => d.label),
        datasets: [{ label: t("Units (kWh)"), data: data.map((d) => d.units), backgroundColor: "#0b4f6c", borderRadius: 4 }],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => `${item.parsed.y} kWh` } } },
        scales: { y: { beginAtZero: true, title: { display: true, text: "kWh" } } },
      },
    });
  }
  // The same numbers as a table, for screen readers and for people who prefer numbers.
  fill("usage-table", h("details", {}, h("summary", { text: t("Show as a table") }),
    table([
      { label: t("Month"), cell: (d) => d.label },
      { label: t("Units (kWh)"), cell: (d) => String(d.units), numeric: true },
    ], data, { caption: t("Units consumed per month") })));
}

// Our emails to the customer bounce or were marked as spam, so we stopped sending
// them (issue 25): ask them to fix their mailbox, and to tell us when it works.
async function emailPrompt() {
  let status;
  try {
    status = await get("/me/email-status");
  } catch {
    return;  // the rest of the dashboard matters more than this notice
  }
  if (!status.suppressed) return;
  const box = h("section", { class: "alert alert-warning", id: "email-prompt", "aria-labelledby": "email-prompt-title" },
    h("h2", { class: "h5", id: "email-prompt-title", text: t("We cannot email you") }),
    h("p", { text: t("Our emails to {address} are not getting through: {reason}. We have stopped emailing you; your bills and receipts are still here in the portal.", { address: status.address, reason: status.reason }) }),
    h("p", { class: "mb-2", text: t("Please fix your mailbox, then tell us here. To use another email address, ask for help.") }),
    h("div", { class: "d-flex flex-wrap gap-2" },
      action(h("button", { type: "button", class: "btn btn-warning btn-sm", text: t("My mailbox works again") }), async () => {
        await post("/me/email-status/resume");
        box.replaceWith(h("div", { class: "alert alert-success", role: "status", id: "email-prompt",
          text: t("Thank you. We email {address} again.", { address: status.address }) }));
      }),
      link("tickets.html#raise", t("Ask for help"), "btn btn-outline-secondary btn-sm")));
  document.getElementById("account-state").after(box);
}
emailPrompt();

if (WAITING[me.status]) {
  const [title, text] = WAITING[me.status];
  document.getElementById("dashboard-body").hidden = true;
  fill("account-state", h("div", { class: `alert ${me.status === "pending_review" ? "alert-info" : "alert-warning"}`, role: "status" },
    h("h2", { class: "h5", text: title }), h("p", { class: "mb-0", text: text }),
    me.status_reason ? h("p", { class: "mb-0 mt-2", text: t("Reason: {reason}", { reason: me.status_reason }) }) : null));
} else {
  const [balance, bills, properties, tickets] = await Promise.allSettled([
    get("/me/balance"), get("/bills", { limit: 100 }).then((page) => page.bills), get("/properties"), get("/tickets")]);

  fill("outstanding", ...(balance.status === "fulfilled" ? outstanding(balance.value) : [errorState(balance.reason)]));

  if (bills.status === "fulfilled") {
    const sorted = [...bills.value].sort((a, b) => (b.period + b.bill_id).localeCompare(a.period + a.bill_id));
    fill("latest-bill", latestBill(sorted[0]));
    drawChart(bills.value);
  } else {
    fill("latest-bill", errorState(bills.reason));
  }

  if (properties.status === "fulfilled") {
    const list = properties.value;
    fill("dash-properties", list.length
      ? h("ul", { class: "list-unstyled mb-2" }, list.slice(0, 4).map((p) => h("li", { class: "mb-2" },
        link(`property.html?id=${encodeURIComponent(p.property_id)}`, addressLine(p.address)),
        h("div", { class: "small text-body-secondary", text: [label(p.relationship), label(p.category), p.meter_id ? t("meter fitted") : t("no meter yet")].join(" · ") }))))
      : emptyState(t("No properties yet."), link("properties.html#register", t("Register a property"), "btn btn-sm btn-primary")),
    list.length ? link("properties.html", t("All properties"), "small") : null);
  } else {
    fill("dash-properties", errorState(properties.reason));
  }

  if (tickets.status === "fulfilled") {
    const open = tickets.value.filter((t) => t.status !== "completed");
    fill("dash-tickets", tickets.value.length
      ? h("ul", { class: "list-unstyled mb-2" }, tickets.value.slice(0, 4).map((t) => h("li", { class: "mb-2 d-flex gap-2 align-items-start" },
        badge(t.status), link(`ticket.html?id=${encodeURIComponent(t.ticket_id)}`, t.subject))))
      : emptyState(t("No support requests.")),
    h("p", { class: "small mb-0" }, t("{count} open", { count: open.length }), " · ", link("tickets.html#raise", t("Ask for help"))));
  } else {
    fill("dash-tickets", errorState(tickets.reason));
  }
}
