import { get, post } from "../api.js";
import { boot, h, fill, table, badge, emptyState, errorState, action, notify, param, confirmButton, link } from "../ui.js";
import { dateTimeIST, label, period } from "../format.js";

await boot("admin");
const id = param("id") || "";
const runPath = `/admin/runs/${encodeURIComponent(id)}`;
const POLL_MS = 2000;
let timer = null;

if (param("started") !== null) notify(`The run has started: ${param("started")} meter(s) asked for their reading.`);

const kwh = (wh) => (wh === null || wh === undefined ? "—" : `${(BigInt(wh) / 1000n).toString()} kWh`);

function percent(part, whole) {
  return whole > 0 ? Math.min(100, Math.round((part / whole) * 100)) : 0;
}

function progressBar(run) {
  const p = run.progress;
  const answered = percent(p.answered, p.meters_asked);
  const silent = percent(p.no_response, p.meters_asked);
  const done = Math.min(100, answered + silent);
  return h("div", {},
    h("div", { class: "progress-stacked mb-2" },
      h("div", { class: "progress", role: "progressbar", "aria-label": "Meters that answered", "aria-valuenow": String(answered), "aria-valuemin": "0", "aria-valuemax": "100", dataset: { width: answered } },
        h("div", { class: `progress-bar bg-success${run.status === "running" ? " progress-bar-striped progress-bar-animated" : ""}` })),
      h("div", { class: "progress", role: "progressbar", "aria-label": "Meters that stayed silent", "aria-valuenow": String(silent), "aria-valuemin": "0", "aria-valuemax": "100", dataset: { width: silent } },
        h("div", { class: "progress-bar bg-warning" }))),
    h("p", { class: "small text-body-secondary mb-0", id: "run-progress-text", "aria-live": "polite",
      text: `${done}% · ${p.answered} of ${p.meters_asked} meter(s) answered${p.no_response ? `, ${p.no_response} silent` : ""}` }));
}

// Widths are set through the CSSOM (the page's CSP allows no inline style attributes).
function applyWidths(root) {
  for (const bar of root.querySelectorAll(".progress[data-width]")) bar.style.width = `${bar.dataset.width}%`;
}

function counter(name, value, tone = "") {
  return h("div", { class: "col-6 col-md-3 col-xl" }, h("div", { class: "border rounded p-2 h-100" },
    h("div", { class: "stat-label", text: name }), h("div", { class: `fs-4 fw-semibold ${tone}`, dataset: { counter: name }, text: String(value) })));
}

function readingsTable(rows, held) {
  if (!rows.length) return emptyState(held ? "No readings are waiting for review." : "No readings were rejected.");
  const columns = [
    { label: "Meter", cell: (r) => h("span", { class: "font-monospace small", text: r.meter_id }) },
    { label: "Register", cell: (r) => kwh(r.register_wh), numeric: true },
    { label: "Read at", cell: (r) => dateTimeIST(r.read_at || r.received_at) },
    { label: "Reason", cell: (r) => h("div", {}, h("div", { text: label(r.reason) }), r.detail ? h("div", { class: "small text-body-secondary", text: r.detail }) : null) },
  ];
  if (held) {
    columns.push({ label: "Decision", cell: (r) => h("div", { class: "d-flex gap-1" },
      action(h("button", { type: "button", class: "btn btn-sm btn-success", text: "Bill it", "aria-label": `Bill it: the reading of ${r.meter_id}` }), () => release(r, "bill")),
      action(h("button", { type: "button", class: "btn btn-sm btn-outline-danger", text: "Reject", "aria-label": `Reject: the reading of ${r.meter_id}` }), () => release(r, "reject"))) });
  }
  return table(columns, rows, { caption: held ? "Readings held for review" : "Rejected readings" });
}

async function release(reading, decision) {
  const result = await post(`${runPath}/readings/release`, { meter_id: reading.meter_id, reading_key: reading.reading_key, decision });
  notify(decision === "bill" ? `The reading is billed (${result.bill_ids.length} bill(s)).` : "The reading is rejected.");
  await load();
}

function silentTable(run) {
  if (run.silent_meters === null) {
    return h("p", { class: "text-body-secondary", text: "Meters that have not answered are listed here when the run is closed." });
  }
  if (!run.silent_meters.length) return emptyState("Every meter answered.");
  return table([
    { label: "Meter", cell: (m) => h("span", { class: "font-monospace small", text: m.meter_id }) },
    { label: "Property", cell: (m) => m.property_id ? h("span", { class: "font-monospace small", text: m.property_id }) : "—" },
    { label: "Why", cell: (m) => h("div", {}, label(m.why), m.detail ? h("div", { class: "small text-body-secondary", text: m.detail }) : null) },
    { label: "Outcome", cell: (m) => h("div", {}, badge(m.outcome === "estimated" ? "estimated" : "inactive", label(m.outcome)),
      m.bill_ids.length ? h("div", { class: "small font-monospace", text: m.bill_ids.join(", ") }) : null) },
  ], run.silent_meters, { caption: "Silent meters" });
}

function progressCard(run) {
  const p = run.progress;
  const card = h("section", { class: "card mb-4", id: "progress-card", "aria-labelledby": "progress-title" }, h("div", { class: "card-body" },
    h("h2", { class: "h5", id: "progress-title", text: "Progress" }),
    progressBar(run),
    h("div", { class: "row g-2 mt-2" },
      counter("Asked", p.meters_asked), counter("Answered", p.answered, "text-success"),
      counter("Silent", p.no_response, p.no_response ? "text-warning-emphasis" : ""),
      counter("Rejected", p.rejected, p.rejected ? "text-danger" : ""), counter("Held", p.held, p.held ? "text-warning-emphasis" : ""),
      counter("Bills issued", p.bills_issued), counter("Estimated", p.estimated_bills)),
    p.delivery_failures ? h("p", { class: "small text-danger mt-2 mb-0", text: `${p.delivery_failures} read request(s) could not be delivered.` }) : null));
  applyWidths(card);
  return card;
}

const readingSection = (held, rows) => h("section", { class: "mb-4", id: held ? "held-section" : "rejected-section", "aria-labelledby": held ? "held-title" : "rejected-title" },
  h("h2", { class: "h5", id: held ? "held-title" : "rejected-title", text: held ? "Held for review" : "Rejected readings" }), readingsTable(rows, held));

let shown = null;  // the run as last drawn

async function load() {
  clearTimeout(timer);
  try {
    const [run, held, rejected] = await Promise.all([get(runPath), get(`${runPath}/readings`, { status: "held" }), get(`${runPath}/readings`, { status: "rejected" })]);
    shown = run;
    document.title = `Run ${period(run.period)} · ${document.title.split(" · ").pop()}`;
    const running = run.status === "running";
    fill("run",
      h("div", { class: "d-flex flex-wrap align-items-start gap-3 mb-3" },
        h("div", { class: "flex-grow-1" },
          h("h1", { class: "page-title", text: `Billing run, ${period(run.period)}` }),
          h("p", { class: "text-body-secondary mb-0" }, badge(run.status), ` · started ${dateTimeIST(run.started_at)}`,
            run.window_ends_at ? ` · answers until ${dateTimeIST(run.window_ends_at)}` : "",
            run.closed_at ? ` · closed ${dateTimeIST(run.closed_at)}` : "",
            ` · silent meters get ${run.policy === "no_bill" ? "no bill" : "an estimated bill"}`)),
        running ? confirmButton("Close run", "Close the run and apply its policy to silent meters?", "Yes, close", async () => {
          await post(`${runPath}/close`);
          notify("The run is closed.");
          await load();
        }, "btn btn-outline-danger") : null),
      progressCard(run),
      readingSection(true, held),
      readingSection(false, rejected),
      h("section", { class: "mb-4", "aria-labelledby": "silent-title" }, h("h2", { class: "h5", id: "silent-title", text: "Silent meters" }), silentTable(run)),
      h("p", {}, link("admin/payments.html", "Payments and defaulters")));
    if (running) timer = setTimeout(poll, POLL_MS);
  } catch (error) {
    fill("run", errorState(error));
  }
}

// Live progress while the run is open: only the parts that changed are redrawn,
// so a half-done action (a confirmation, a focused button) is not thrown away.
async function poll() {
  try {
    const run = await get(runPath);
    if (run.status !== shown.status) {
      await load();
      return;
    }
    document.getElementById("progress-card").replaceWith(progressCard(run));
    for (const [held, key] of [[true, "held"], [false, "rejected"]]) {
      if (run.progress[key] !== shown.progress[key]) {
        const rows = await get(`${runPath}/readings`, { status: key });
        document.getElementById(`${key}-section`).replaceWith(readingSection(held, rows));
      }
    }
    shown = run;
  } catch (error) {
    notify(error.message || "Could not refresh the progress.", "warning");
  }
  timer = setTimeout(poll, POLL_MS);
}

await load();
