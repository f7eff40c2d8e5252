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

function progressText(run) {
  const p = run.progress;
  return `${p.answered} of ${p.meters_asked} answered · ${p.bills_issued} bill(s)`;
}

onSubmit(form, async (values) => {
  const started = await post("/admin/runs", values);
  location.assign(siteUrl(`admin/run.html?id=${encodeURIComponent(started.run.run_id)}&started=${started.meters_enqueued}`));
});

try {
  const runs = await get("/admin/runs");
  fill("run-list", runs.length
    ? table([
      { label: "Period", cell: (r) => link(`admin/run.html?id=${encodeURIComponent(r.run_id)}`, period(r.period), "fw-semibold") },
      { label: "Status", cell: (r) => badge(r.status) },
      { label: "Started", cell: (r) => dateTimeIST(r.started_at) },
      { label: "Silent meters", cell: (r) => label(r.policy === "no_bill" ? "no bill" : "estimated bill") },
      { label: "Progress", cell: progressText },
    ], runs, { caption: "Billing runs, newest first" })
    : emptyState("No billing runs yet."));
} catch (error) {
  fill("run-list", errorState(error));
}
