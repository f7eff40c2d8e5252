import { get, post } from "../api.js";
import { boot, fill, table, badge, emptyState, errorState, onSubmit, link, notify, showLoading, values } from "../ui.js";
import { dateTimeIST } from "../format.js";

await boot("admin");
const filter = document.getElementById("undelivered-filter");
const more = document.getElementById("undelivered-more");
const STATUS_TEXT = {
  pending: "Not sent yet", sending: "Being sent", sent: "Sent, unconfirmed", bounced: "Bounced",
  complained: "Complaint", suppressed: "Address suppressed", failed: "Refused",
};
const COLUMNS = [
  { label: "Bill", cell: (r) => r.bill_id ? link(`bill.html?id=${encodeURIComponent(r.bill_id)}`, r.bill_id, "font-monospace") : "" },
  { label: "Email", cell: (r) => r.to },
  { label: "Status", cell: (r) => badge(r.status, STATUS_TEXT[r.status] || r.status) },
  { label: "Why", cell: (r) => r.reason || "" },
  { label: "Sent", cell: (r) => (r.sent_at ? dateTimeIST(r.sent_at) : "") },
  { label: "Attempts", cell: (r) => String(r.attempts), numeric: true },
];
let cursor = null;
let query = {};

function lastMonth() {
  const now = new Date();
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return first.toISOString().slice(0, 7);
}

async function load(fresh) {
  if (fresh) {
    cursor = null;
    showLoading("undelivered-list", "Loading undelivered bill emails");
  }
  const page = await get("/admin/notifications/undelivered-bills", { ...query, limit: 100, ...(cursor ? { cursor } : {}) });
  cursor = page.cursor;
  const region = document.getElementById("undelivered-list");
  if (fresh) {
    fill(region, page.bills.length
      ? table(COLUMNS, page.bills, { caption: `Bill emails of ${query.period} not confirmed delivered` })
      : emptyState(cursor ? "None on this page." : "Every bill email of this period was delivered."));
  } else if (page.bills.length) {
    const body = region.querySelector("tbody");
    if (body) body.append(...table(COLUMNS, page.bills).querySelectorAll("tbody tr"));
    else fill(region, table(COLUMNS, page.bills, { caption: `Bill emails of ${query.period} not confirmed delivered` }));
  }
  more.classList.toggle("d-none", !cursor);
}

more.addEventListener("click", async () => {
  more.disabled = true;
  try { await load(false); } finally { more.disabled = false; }
});

onSubmit(filter, async (values_) => {
  query = values_;
  history.replaceState(null, "", `?${new URLSearchParams(query)}`);
  await load(true);
});

onSubmit(document.getElementById("unsuppress-form"), async ({ address }) => {
  const answer = await post("/admin/notifications/unsuppress", { address });
  notify(answer.removed ? `${answer.address} gets email again.` : `${answer.address} was not suppressed.`);
});

for (const [key, value] of new URLSearchParams(location.search)) {
  if (filter.elements[key]) filter.elements[key].value = value;
}
if (!filter.elements.period.value) filter.elements.period.value = lastMonth();
query = values(filter);
try {
  await load(true);
} catch (error) {
  fill("undelivered-list", errorState(error));
}
