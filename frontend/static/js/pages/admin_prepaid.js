// Prepaid connections and daily reads for administrators (issue 24): a connection's
// payment mode from a date, its balance and relay; the daily read cycle of a day and the
// share of meters read (target: 99% by 06:00 IST).
import { get, post, put } from "../api.js";
import { boot, h, fill, facts, badge, errorState, onSubmit, table, pagedTable } from "../ui.js";
import { rupees, paise, toPaise, dateTimeIST, label } from "../format.js";

await boot("admin");

function account(view) {
  return facts([
    ["Connection", h("span", { class: "font-monospace small", text: view.connection_id })],
    ["Mode", `${view.mode} from ${view.mode_from || "-"}`],
    ["Mode history", h("ul", { class: "list-unstyled small mb-0", id: "mode-history" }, (view.mode_history || []).map((c) =>
      h("li", { text: `${c.mode} from ${c.from_day}${c.final_bill_id ? `: final postpaid bill ${c.final_bill_id} (${paise(c.settled_paise)})` : ""}`
        + `${c.mode === "postpaid" && c.carried_paise ? `: balance ${paise(c.carried_paise)} carried` : ""}` })))],
    ["Balance", h("span", { class: "amount", id: "admin-prepaid-balance", text: rupees(view.balance) })],
    ["Supply", badge(view.relay, view.relay)],
    ["Disputed", view.disputed ? "yes" : "no"],
  ], "row mb-0 facts-wide");
}

function rate(view) {
  return facts([
    ["Day", view.day],
    ["Meters asked", String(view.meters_total)],
    ["Meters read", String(view.read)],
    ["Share read", h("span", { id: "daily-share", text: `${view.share_read_percent}%` })],
    ["Read by 06:00 IST", h("span", {}, `${view.share_by_target_percent}% `, targetBadge(view))],
  ], "row mb-0 facts-wide");
}

function targetBadge(view) {
  if (!view.meters_total) return badge("pending", "not run");
  return view.target_met
    ? badge("paid", `target ${view.target_percent}% met`)
    : badge("overdue", `below the ${view.target_percent}% target`);
}

// The last seven IST days, newest first: one request each (the day's counters).
async function lastWeek() {
  const today = new Date(Date.now() + 330 * 60000);  // IST
  const days = [...Array(7).keys()].map((n) => new Date(today.getTime() - (n + 1) * 86400000).toISOString().slice(0, 10));
  const rates = await Promise.all(days.map((day) => get(`/admin/daily-reads/${day}`)));
  fill("daily-week", table([
    { label: "Day", cell: (r) => r.day },
    { label: "Asked", cell: (r) => String(r.meters_total), numeric: true },
    { label: "Read", cell: (r) => `${r.share_read_percent}%`, numeric: true },
    { label: "By 06:00 IST", cell: (r) => `${r.share_by_target_percent}%`, numeric: true },
    { label: "Target", cell: targetBadge },
  ], rates, { caption: "Daily reads, last 7 days" }));
}
lastWeek().catch((error) => fill("daily-week", errorState(error)));

onSubmit(document.getElementById("mode-form"), async (values) => {
  const body = { mode: values.mode, from_date: values.from_date };
  if (values.emergency_credit) body.emergency_credit_paise = Number(toPaise(values.emergency_credit));
  const view = await put(`/admin/prepaid/${encodeURIComponent(values.connection)}/mode`, body);
  fill("prepaid-account", account(view));
});
// Any day from the 1st of last month (IST) on: the change settles the mode it leaves.
{
  const today = new Date(Date.now() + 330 * 60000);  // IST
  const first = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1));
  document.getElementById("mode-from_date").min = first.toISOString().slice(0, 10);
}

const dailyForm = document.getElementById("daily-form");
onSubmit(dailyForm, async (values) => {
  fill("daily-rate", rate(await post("/admin/daily-reads", { day: values.day })));
});
document.getElementById("daily-refresh").addEventListener("click", async () => {
  const day = dailyForm.elements.day.value;
  if (!day) return;
  try {
    fill("daily-rate", rate(await get(`/admin/daily-reads/${encodeURIComponent(day)}`)));
  } catch (error) {
    fill("daily-rate", errorState(error));
  }
});

// ---- the admin's lists (issue 24): a page at a time, "More" reads on from the cursor ----

const mono = (text) => h("span", { class: "font-monospace small", text: text || "—" });

// 25 rows a page, stacked as cards on a phone; an empty page with more to come says so.
const LISTS = { pageSize: 25, stack: true, emptyMore: "None on this page.", moreClass: "btn btn-outline-secondary btn-sm mt-2" };

function negatives() {
  return pagedTable("negative-list", { ...LISTS, path: "/admin/negative-balances", itemsKey: "connections",
    columns: [
      { label: "Connection", cell: (a) => mono(a.connection_id) },
      { label: "Meter", cell: (a) => mono(a.meter_id) },
      { label: "Balance", cell: (a) => h("span", { class: "amount", text: rupees(a.balance) }), numeric: true },
      { label: "Emergency credit", cell: (a) => rupees(a.emergency_credit), numeric: true },
      { label: "Supply", cell: (a) => badge(a.relay, a.relay) },
      { label: "Command", cell: (a) => (a.pending_command ? mono(a.pending_command) : "—") },
      { label: "Disputed", cell: (a) => (a.disputed ? "yes" : "no") },
    ],
    caption: "Prepaid connections with a negative balance", empty: "No connection has a negative balance." });
}

function commandColumns(when) {
  return [
    { label: "Meter", cell: (c) => mono(c.meter_id) },
    { label: "Connection", cell: (c) => mono(c.connection_id) },
    { label: "Operation", cell: (c) => label(c.operation) },
    { label: "Status", cell: (c) => badge(c.status) },
    { label: "Attempts", cell: (c) => String(c.attempts), numeric: true },
    { label: "Relay", cell: (c) => (c.relay ? badge(c.relay, c.relay) : "—") },
    { label: when, cell: (c) => dateTimeIST(c.state_at) },
    { label: "Last error", cell: (c) => c.last_error || "—" },
  ];
}

function pending() {
  return pagedTable("pending-list", { ...LISTS, path: "/admin/relay-commands", query: { state: "pending" }, itemsKey: "commands",
    columns: commandColumns("Next attempt"), caption: "Relay commands not acknowledged yet", empty: "No command is waiting for its meter." });
}

const doneState = document.getElementById("done-state");
function done() {
  const failed = doneState.value === "failed";
  return pagedTable("done-list", { ...LISTS, path: "/admin/relay-commands", query: { state: doneState.value }, itemsKey: "commands",
    columns: commandColumns(failed ? "Given up" : "Acknowledged"),
    caption: failed ? "Relay commands that failed" : "Relay commands acknowledged by the meter",
    empty: failed ? "No command has failed." : "No command acknowledged yet." });
}
doneState.addEventListener("change", done);

await Promise.all([negatives(), pending(), done()]);
