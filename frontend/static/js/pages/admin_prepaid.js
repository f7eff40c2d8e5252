// Prepaid connections and daily reads for administrators (issue 24): a connection's
// payment mode from a date, its balance and relay; the daily read cycle of a day and the
// share of meters read (target: 99% by 06:00 IST).
import { get, post, put } from "../api.js";
import { boot, h, fill, facts, badge, errorState, onSubmit } from "../ui.js";
import { rupees, paise, toPaise } from "../format.js";

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
  ], "row mb-0 facts-wide");
}

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
