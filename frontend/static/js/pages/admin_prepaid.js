// Prepaid connections and daily reads for administrators (issue 24): a connection's
// payment mode from a date, its balance and relay; the daily read cycle of a day and the
// share of meters read (target: 99% by 06:00 IST).
import { get, post, put } from "../api.js";
import { boot, h, fill, facts, badge, errorState, onSubmit } from "../ui.js";
import { rupees, toPaise } from "../format.js";

await boot("admin");

function account(view) {
  return facts([
    ["Connection", h("span", { class: "font-monospace small", text: view.connection_id })],
    ["Mode", `${view.mode} from ${view.mode_from || "-"}`],
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
