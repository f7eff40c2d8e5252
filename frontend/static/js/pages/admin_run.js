import { get, post } from "../api.js";
import { boot, h, fill, table, badge, emptyState, errorState, errorMessage, action, notify, param, confirmButton, link } from "../ui.js";
import { dateTimeIST, label, period } from "../format.js";

// A billing run works in the background (listing -> asking -> closing -> closed):
// this page polls the run's summary (one small request) every few seconds until it
// is closed and redraws only the parts that changed. Readings and silent meters are
// read a page at a time through the API's cursors; nothing here is per meter.

await boot("admin");
const id = param("id") || "";
const runPath = `/admin/runs/${encodeURIComponent(id)}`;
const POLL_MS = 3000;
const MAX_POLL_MS = 30000;
// Rows per page of readings and silent meters (?rows=N, for a closer look or the tests).
const ROWS = Math.min(500, Math.max(1, Number.parseInt(param("rows") || "", 10) || 50));

const PHASES = [
  ["listing", "Listing meters"],
  ["asking", "Asking meters"],
  ["closing", "Closing"],
  ["closed", "Closed"],
];
const PHASE_STYLE = { listing: "in_progress", asking: "running", closing: "pending", closed: "closed" };
const PHASE_TEXT = {
  listing: "The meters are being listed and asked for their register.",
  asking: "Every meter has been asked; answers are coming in.",
  closing: "The run's policy is being applied to the meters that stayed silent.",
  closed: "Every silent meter has its outcome.",
};

if (param("started") === "first") notify("The run has started: its meters are being listed and asked in the background.");
else if (param("started") === "again") notify("The run is started again: only the meters still missing a bill are asked.");
if (param("started") !== null) {  // said once, not again at every reload
  const query = new URLSearchParams(location.search);
  query.delete("started");
  history.replaceState(null, "", `?${query}`);
}

const kwh = (wh) => (wh === null || wh === undefined ? "—" : `${(BigInt(wh) / 1000n).toString()} kWh`);
const count = new Intl.NumberFormat("en-IN");
const n = (value) => count.format(value || 0);

/** seconds_left as people say it: "about 4 min left". */
function timeLeft(seconds) {
  if (seconds === null || seconds === undefined) return null;
  if (seconds < 60) return "less than a minute left";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min left`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `about ${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ""} left`;
  const days = Math.round(hours / 24);
  return `about ${days} day${days === 1 ? "" : "s"} left`;
}

function percent(part, whole) {
  return whole > 0 ? Math.min(100, Math.round((part / whole) * 100)) : 0;
}

// ---------------------------------------------------------------- the run's state

function phaseBadge(run) {
  return badge(PHASE_STYLE[run.phase] || run.phase, label(run.phase));
}

function steps(run) {
  const current = PHASES.findIndex(([key]) => key === run.phase);
  return h("ol", { class: "steps mb-2", id: "run-steps", "aria-label": "Phases of the run" },
    PHASES.map(([key, text], index) => {
      const done = index < current || run.phase === "closed";
      return h("li", { class: done && index !== current ? "done" : null, dataset: { phase: key }, "aria-current": index === current ? "step" : null },
        `${index + 1}. ${text}`, done && index !== current ? h("span", { class: "visually-hidden", text: " (done)" }) : null);
    }));
}

function estimate(run) {
  if (run.phase === "listing") return "Time left: known once the meters are listed.";
  if (run.phase !== "asking") return null;
  const left = timeLeft(run.seconds_left);
  if (left) return `${left.charAt(0).toUpperCase()}${left.slice(1)} at the rate so far.`;
  const p = run.progress;
  if (!p.meters_asked) return "No active meter needed asking: the run can be closed.";
  if (p.answered + p.delivery_failures >= p.meters_asked) return "Every asked meter has answered: the run can be closed.";
  return "Estimating the time left…";
}

function progressBar(run) {
  const p = run.progress;
  const answered = percent(p.answered, p.meters_asked);
  const silent = percent(p.no_response, p.meters_asked);
  const working = run.phase === "listing" || run.phase === "asking";
  return h("div", { class: "progress-stacked mb-2" },
    h("div", { class: "progress", role: "progressbar", "aria-label": "Meters that answered", "aria-valuenow": String(answered), "aria-valuemin": "0", "aria-valuemax": "100", dataset: { width: answered } },
      h("div", { class: `progress-bar bg-success${working ? " progress-bar-striped progress-bar-animated" : ""}` })),
    h("div", { class: "progress", role: "progressbar", "aria-label": "Meters that stayed silent", "aria-valuenow": String(silent), "aria-valuemin": "0", "aria-valuemax": "100", dataset: { width: silent } },
      h("div", { class: "progress-bar bg-warning" })));
}

// Widths are set through the CSSOM (the page's CSP allows no inline style attributes).
function applyWidths(root) {
  for (const bar of root.querySelectorAll(".progress[data-width]")) bar.style.width = `${bar.dataset.width}%`;
}

function counter(name, value, tone = "") {
  return h("div", { class: "col-6 col-md-3 col-xl" }, h("div", { class: "border rounded p-2 h-100" },
    h("div", { class: "stat-label", text: name }), h("div", { class: `fs-4 fw-semibold ${tone}`, dataset: { counter: name }, text: n(value) })));
}

function progressCard(run) {
  const p = run.progress;
  const card = h("section", { class: "card mb-4", id: "progress-card", "aria-labelledby": "progress-title" }, h("div", { class: "card-body" },
    h("h2", { class: "h5", id: "progress-title", text: "Progress" }),
    steps(run),
    h("p", { class: "mb-1", id: "run-phase-text" },
      h("span", { class: "fw-semibold", text: run.phase_progress }), ` · ${PHASE_TEXT[run.phase] || ""}`),
    estimate(run) ? h("p", { class: "small text-body-secondary mb-3", id: "run-time-left", text: estimate(run) }) : null,
    progressBar(run),
    h("p", { class: "small text-body-secondary mb-0", id: "run-progress-text",
      text: `${percent(p.answered, p.meters_asked)}% · ${n(p.answered)} of ${n(p.meters_asked)} meter(s) answered${p.no_response ? `, ${n(p.no_response)} silent` : ""}` }),
    h("div", { class: "row g-2 mt-2" },
      counter("Asked", p.meters_asked), counter("Answered", p.answered, "text-success"),
      counter("Silent", p.no_response, p.no_response ? "text-warning-emphasis" : ""),
      counter("Rejected", p.rejected, p.rejected ? "text-danger" : ""), counter("Held", p.held, p.held ? "text-warning-emphasis" : ""),
      counter("Bills issued", p.bills_issued), counter("Estimated", p.estimated_bills)),
    p.delivery_failures ? h("p", { class: "small text-danger mt-2 mb-0", text: `${n(p.delivery_failures)} read request(s) could not be delivered.` }) : null,
    notices(run)));
  applyWidths(card);
  return card;
}

// The run's bill emails (issue 25): handed to SES, then what SES said; who was not reached is a link.
function notices(run) {
  const m = run.progress.notices;
  if (!m) return null;
  const unreached = m.bounced + m.complained + m.suppressed + m.failed;
  return h("div", { class: "mt-3", id: "run-notices" },
    h("h3", { class: "h6", text: "Bill emails" }),
    h("div", { class: "row g-2" },
      counter("Emails sent", m.sent), counter("Delivered", m.delivered, "text-success"),
      counter("Bounced", m.bounced, m.bounced ? "text-danger" : ""),
      counter("Complaints", m.complained, m.complained ? "text-danger" : ""),
      counter("Not sent", m.suppressed + m.failed, m.suppressed + m.failed ? "text-warning-emphasis" : "")),
    unreached ? h("p", { class: "small mt-2 mb-0" }, `${n(unreached)} customer(s) not reached by email: `,
      link(`admin/notifications.html?period=${encodeURIComponent(run.period)}`, "see who and why"), ".") : null);
}

// Said once per change of phase, not at every poll (the counters change too often to read out).
function announce(run) {
  document.getElementById("run-live").textContent = `${label(run.phase)}: ${run.phase_progress}.`;
}

// ---------------------------------------------------------------- header and actions

function summary(run) {
  return h("p", { class: "text-body-secondary mb-0", id: "run-summary" }, phaseBadge(run),
    run.started_at ? ` · started ${dateTimeIST(run.started_at)}` : "",
    run.restarts ? ` · started again ${run.restarts} time(s)` : "",
    run.window_ends_at && run.phase !== "closed" ? ` · answers until ${dateTimeIST(run.window_ends_at)}` : "",
    run.closed_at ? ` · closed ${dateTimeIST(run.closed_at)}` : "",
    ` · silent meters get ${run.policy === "no_bill" ? "no bill" : "an estimated bill"}`);
}

function actions(run) {
  const box = h("div", { id: "run-actions", class: "d-flex flex-wrap gap-2" });
  if (run.phase === "asking") {
    box.append(confirmButton("Close run", "Close the run and apply its policy to silent meters?", "Yes, close", closeRun, "btn btn-outline-danger"));
  } else if (run.phase === "closed") {
    box.append(confirmButton("Start again", "Ask the meters still missing a bill again?", "Yes, start again", startAgain, "btn btn-outline-primary"));
  }
  return box;
}

async function closeRun() {
  const seq = ++asked;
  let run;
  try {
    run = await post(`${runPath}/close`);
  } catch (error) {
    if (error.status !== 409) throw error;
    // Still listing its meters (the message says so): show it and the run as it is.
    notify(errorMessage(error), "warning");
    await refresh();
    return;
  }
  if (run.phase === "closed") {
    notify("The run is closed.");
  } else {
    notify(`The run is closing: the silent meters get ${run.policy === "no_bill" ? "no bill" : "an estimated bill"}. This page shows when it is done.`);
  }
  apply(run, seq);
}

async function startAgain() {
  try {
    const seq = ++asked;
    const started = await post("/admin/runs", { period: shown.period });
    notify("The run is started again: only the meters still missing a bill are asked.");
    apply(started.run, seq);
  } catch (error) {
    if (error.status !== 409) throw error;
    // A listing or closing is at work already (the message says which): show it.
    notify(errorMessage(error), "warning");
    await refresh();
  }
}

// ---------------------------------------------------------------- pages of rows

/**
 * A list read a page at a time: `fetchPage(cursor)` resolves to {rows, cursor}.
 * Pages already seen are remembered by their cursors, so "Previous page" works
 * without the API going backwards.
 */
function pagedList({ name, fetchPage, render }) {
  const region = h("div", { id: `${name}-list`, "aria-busy": "true", tabindex: "-1" });
  const state = { cursors: [null], page: 0, next: null, rows: [] };

  const pager = () => {
    if (state.page === 0 && !state.next) return null;
    const previous = h("button", { type: "button", class: "btn btn-sm btn-outline-secondary", text: "Previous page", disabled: state.page === 0 });
    const next = h("button", { type: "button", class: "btn btn-sm btn-outline-primary", text: "Next page", disabled: !state.next });
    action(previous, () => show(state.page - 1, "Previous page"));
    action(next, () => show(state.page + 1, "Next page"));
    return h("nav", { class: "d-flex align-items-center gap-2", "aria-label": `Pages of ${name.replace(/-/g, " ")}` },
      previous, h("span", { class: "small text-body-secondary", text: `Page ${state.page + 1}` }), next);
  };

  let latest = 0;  // a slower, older answer never overwrites a newer one

  async function show(page, focus) {
    const cursor = page === 0 ? null : (page < state.cursors.length ? state.cursors[page] : state.next);
    const mine = ++latest;
    try {
      const result = await fetchPage(cursor);
      if (mine !== latest) return;
      state.page = page;
      state.cursors[page] = cursor;
      state.cursors.length = page + 1;
      state.next = result.cursor;
      state.rows = result.rows;
      fill(region, render(result.rows, state.page), pager());
      if (focus) {  // keyboard users stay on the pager (the other button if this one is off now)
        const buttons = [...region.querySelectorAll("nav button:not([disabled])")];
        (buttons.find((b) => b.textContent === focus) || buttons[0] || region).focus();
      }
    } catch (error) {
      if (mine === latest) fill(region, errorState(error));
    }
  }

  return { region, show, reload: () => show(state.page), firstPage: () => state.page === 0 };
}

function readingsTable(rows, held) {
  if (!rows.length) return emptyState(held ? "No readings are waiting for review." : "No readings were rejected.");
  const columns = [
    { label: "Meter", cell: (r) => h("span", { class: "font-monospace small text-nowrap", text: r.meter_id }) },
    { label: "Register", cell: (r) => kwh(r.register_wh), numeric: true },
    { label: "Read at", cell: (r) => dateTimeIST(r.read_at || r.received_at) },
    { label: "Reason", cell: (r) => h("div", {}, h("div", { text: label(r.reason) }), r.detail ? h("div", { class: "small text-body-secondary", text: r.detail }) : null) },
  ];
  if (held) {
    columns.push({ label: "Decision", cell: (r) => h("div", { class: "d-flex flex-wrap gap-1 text-nowrap" },
      action(h("button", { type: "button", class: "btn btn-sm btn-success", text: "Bill it", "aria-label": `Bill it: the reading of ${r.meter_id}` }), () => release(r, "bill")),
      action(h("button", { type: "button", class: "btn btn-sm btn-outline-danger", text: "Reject", "aria-label": `Reject: the reading of ${r.meter_id}` }), () => release(r, "reject"))) });
  }
  return table(columns, rows, { caption: held ? "Readings held for review" : "Rejected readings" });
}

const readings = (status) => async (cursor) => {
  const page = await get(`${runPath}/readings`, { status, limit: ROWS, cursor });
  return { rows: page.readings, cursor: page.cursor };
};

const held = pagedList({ name: "held-readings", fetchPage: readings("held"), render: (rows) => readingsTable(rows, true) });
const rejected = pagedList({ name: "rejected-readings", fetchPage: readings("rejected"), render: (rows) => readingsTable(rows, false) });

async function release(reading, decision) {
  const result = await post(`${runPath}/readings/release`, { meter_id: reading.meter_id, reading_key: reading.reading_key, decision });
  notify(decision === "bill" ? `The reading is billed (${result.bill_ids.length} bill(s)).` : "The reading is rejected.");
  await Promise.all([held.reload(), decision === "reject" ? rejected.reload() : null, refresh()]);
}

function silentTable(rows) {
  if (!rows.length) {
    const phase = shown ? shown.phase : "";
    if (phase === "closed") return emptyState("Every meter answered.");
    if (phase === "closing") return emptyState("No silent meter has been found yet.");
    return h("p", { class: "text-body-secondary mb-0", text: "The meters that stay silent are listed here when the run is closed." });
  }
  return table([
    { label: "Meter", cell: (m) => h("span", { class: "font-monospace small text-nowrap", text: m.meter_id }) },
    { label: "Property", cell: (m) => (m.property_id ? h("span", { class: "font-monospace small", text: m.property_id }) : "—") },
    { label: "Why", cell: (m) => h("div", {}, label(m.why), m.detail ? h("div", { class: "small text-body-secondary", text: m.detail }) : null) },
    { label: "Outcome", cell: (m) => h("div", {}, badge(m.outcome === "estimated" ? "estimated" : "inactive", label(m.outcome)),
      m.bill_ids.length ? h("div", { class: "small font-monospace", text: m.bill_ids.join(", ") }) : null) },
  ], rows, { caption: "Silent meters" });
}

const silent = pagedList({
  name: "silent-meters",
  fetchPage: async (cursor) => {
    const page = await get(`${runPath}/silent-meters`, { limit: ROWS, cursor });
    return { rows: page.meters, cursor: page.cursor };
  },
  render: silentTable,
});

// ---------------------------------------------------------------- drawing and polling

let shown = null;  // the run as last drawn
let asked = 0;  // requests for the run's state, numbered as sent
let drawn = 0;  // the number of the one drawn: an answer to an older request is dropped
let timer = null;
let delay = POLL_MS;
let warned = false;
let polling = false;  // one request at a time

function section(key, title, ...children) {
  return h("section", { class: "mb-4", id: `${key}-section`, "aria-labelledby": `${key}-title` },
    h("h2", { class: "h5", id: `${key}-title`, text: title }), ...children);
}

function drawFirst(run) {
  document.title = `Run ${period(run.period)} · ${document.title.split(" · ").pop()}`;
  fill("run",
    h("div", { class: "d-flex flex-wrap align-items-start gap-3 mb-3" },
      h("div", { class: "flex-grow-1" },
        h("h1", { class: "page-title", text: `Billing run, ${period(run.period)}` }), summary(run)),
      actions(run)),
    h("p", { class: "visually-hidden", id: "run-live", "aria-live": "polite" }),
    progressCard(run),
    section("held", "Held for review", held.region),
    section("rejected", "Rejected readings",
      h("p", { class: "small text-body-secondary" }, "Readings billing refused. Messages the reading endpoint refused (signature, decryption, replay) are listed with the ",
        link("admin/meters.html", "meters"), "."),
      rejected.region),
    section("silent", "Silent meters", silent.region),
    h("p", {}, link("admin/payments.html", "Payments and defaulters")));
  announce(run);
}

/** Draw a newer state of the run: only what changed is redrawn, so a half-done
 * action (a confirmation, a focused button) is not thrown away. */
function update(run) {
  const before = shown;
  shown = run;
  if (!before) return;
  document.getElementById("progress-card").replaceWith(progressCard(run));
  document.getElementById("run-summary").replaceWith(summary(run));
  if (run.phase !== before.phase) {
    document.getElementById("run-actions").replaceWith(actions(run));
    announce(run);
    if (run.phase === "closed" && before.phase === "closing") {
      const p = run.progress;
      notify(`The run is closed: ${n(p.no_response)} silent meter(s), ${n(p.estimated_bills)} estimated bill(s).`);
    }
  }
  if (silent.firstPage() && (run.progress.no_response !== before.progress.no_response || run.phase !== before.phase)) silent.reload();
  // New rows are fetched only while their first page is shown (a later page stays put).
  if (run.progress.held !== before.progress.held && held.firstPage()) held.reload();
  if (run.progress.rejected !== before.progress.rejected && rejected.firstPage()) rejected.reload();
  schedule();
}

function schedule() {
  clearTimeout(timer);
  timer = null;
  if (shown && shown.phase !== "closed" && !document.hidden) timer = setTimeout(poll, delay);
}

function apply(run, seq) {
  if (seq < drawn) return;
  drawn = seq;
  update(run);
}

async function refresh() {
  const seq = ++asked;
  apply(await get(runPath), seq);
}

async function poll() {
  timer = null;
  if (polling) return;
  polling = true;
  try {
    await refresh();
    delay = POLL_MS;
    warned = false;
  } catch (error) {
    // Keep trying, less often, and say so once.
    delay = Math.min(MAX_POLL_MS, delay * 2);
    if (!warned) notify(`Could not refresh the progress: ${errorMessage(error)} Trying again.`, "warning");
    warned = true;
  } finally {
    polling = false;
    if (timer === null) schedule();  // unless an action's answer has scheduled the next one
  }
}

// A hidden tab does not poll; it catches up as soon as it is shown again.
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && shown && shown.phase !== "closed" && timer === null) poll();
});

try {
  const run = await get(runPath);
  shown = run;
  drawFirst(run);
  await Promise.all([held.show(0), rejected.show(0), silent.show(0)]);
  schedule();
} catch (error) {
  fill("run", errorState(error));
}
