import { get } from "../api.js";
import { boot, h, fill, badge, link } from "../ui.js";
import { label, period, rupees } from "../format.js";

await boot("admin");

function card(title, value, text, href, action) {
  return h("div", { class: "col-sm-6 col-xl-4" }, h("section", { class: "card card-stat h-100" }, h("div", { class: "card-body d-flex flex-column" },
    h("h2", { class: "stat-label h6", text: title }),
    h("p", { class: "stat-value mb-1" }, value),
    h("p", { class: "text-body-secondary small flex-grow-1" }, text),
    link(href, action, "btn btn-sm btn-outline-primary align-self-start"))));
}

const PHASE_STYLE = { listing: "in_progress", asking: "running", closing: "pending", closed: "closed" };
const unavailable = h("span", { class: "text-body-secondary", text: "—" });
const [pending, open, runs, defaulters, registered, tariffs] = await Promise.allSettled([
  get("/admin/users", { role: "customer", status: "pending_review", limit: 100 }),
  get("/admin/tickets", { status: "open", limit: 500 }),
  get("/admin/runs"),
  get("/admin/defaulters"),
  get("/admin/meters", { status: "registered", limit: 100 }),
  get("/admin/tariffs"),
]);
const value = (result, fn) => (result.status === "fulfilled" ? fn(result.value) : unavailable);
const latestRun = runs.status === "fulfilled" ? runs.value[0] : null;

fill("overview", h("div", { class: "row g-3" },
  card("Customers to verify", value(pending, (page) => `${page.accounts.length}${page.cursor ? "+" : ""}`), "New customers who confirmed their email and mobile.", "admin/customers.html", "Review customers"),
  card("Open tickets", value(open, (page) => `${page.tickets.length}${page.cursor ? "+" : ""}`), "Questions and complaints nobody has picked up yet.", "admin/tickets.html?status=open", "See tickets"),
  card("Latest billing run", latestRun ? period(latestRun.period) : value(runs, () => "None yet"),
    latestRun ? h("span", {}, badge(PHASE_STYLE[latestRun.phase] || latestRun.phase, label(latestRun.phase)), ` ${latestRun.phase_progress}, ${latestRun.progress.bills_issued} bill(s) issued.`) : "Start the monthly run when the month is over.",
    latestRun ? `admin/run.html?id=${encodeURIComponent(latestRun.run_id)}` : "admin/runs.html", latestRun ? "Open the run" : "Billing runs"),
  card("Defaulters", value(defaulters, (list) => `${list.count}${list.cursor ? "+" : ""}`),
    defaulters.status === "fulfilled" ? `${rupees(defaulters.value.total_due)}${defaulters.value.cursor ? "+" : ""} unpaid after the due date.` : "Bills unpaid after their due date.", "admin/payments.html", "See defaulters"),
  card("Meters waiting", value(registered, (page) => `${page.meters.length}${page.cursor ? "+" : ""}`), "Registered meters not active yet: assign and activate them.", "admin/meters.html?status=registered", "Manage meters"),
  card("Tariff versions", value(tariffs, (list) => String(list.length)), "Per category, with the date each takes effect; preview a bill for any number of units.", "admin/tariffs.html", "Tariffs"),
));
