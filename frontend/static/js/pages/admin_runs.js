import { get, post, siteUrl } from "../api.js";
import { boot, h, fill, table, badge, emptyState, errorState, onSubmit, link } from "../ui.js";
import { dateTimeIST, label, period } from "../format.js";

await boot("admin");
const form = document.getElementById("run-form");

// Default: last month in IST, the month a run usually bills.
const [year, month] = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Kolkata", year: "numeric", month: "2-digit" })
  .format(new Date()).split("-").map(Number);
const last = year * 12 + month - 2;
form.elements.period.value = `${Math.floor(last / 12)}-${String((last % 12) + 1).padStart(2, "0")}`;

const PHASE_STYLE = { listing: "in_progress", asking: "running", closing: "pending", closed: "closed" };

function progressText(run) {
  return h("div", {}, h("div", { text: run.phase_progress }),
    h("div", { class: "small text-body-secondary", text: `${run.progress.bills_issued} bill(s) issued` }));
}

// 202: the run is recorded and its meters are listed and asked in the background;
// the run's page follows it. A month not over yet (400) or a run busy listing or
// closing (409) is said in the form's alert box, with the API's reason.
onSubmit(form, async (values) => {
  const started = await post("/admin/runs", values);
  location.assign(siteUrl(`admin/run.html?id=${encodeURIComponent(started.run.run_id)}&started=${started.first_start ? "first" : "again"}`));
});

try {
  const runs = await get("/admin/runs");
  fill("run-list", runs.length
    ? table([
      { label: "Period", cell: (r) => link(`admin/run.html?id=${encodeURIComponent(r.run_id)}`, period(r.period), "fw-semibold") },
      { label: "Phase", cell: (r) => badge(PHASE_STYLE[r.phase] || r.phase, label(r.phase)) },
      { label: "Started", cell: (r) => dateTimeIST(r.started_at) },
      { label: "Silent meters", cell: (r) => label(r.policy === "no_bill" ? "no bill" : "estimated bill") },
      { label: "Progress", cell: progressText },
    ], runs, { caption: "Billing runs, newest first" })
    : emptyState("No billing runs yet."));
} catch (error) {
  fill("run-list", errorState(error));
}
