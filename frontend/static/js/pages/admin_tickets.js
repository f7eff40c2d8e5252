import { getPages, post } from "../api.js";
import { boot, h, badge, onSubmit, action, link, notify, pagedTable, values } from "../ui.js";
import { dateTimeIST, label } from "../format.js";

const me = await boot("admin");
const filter = document.getElementById("ticket-filter");
for (const [key, value] of new URLSearchParams(location.search)) {
  if (filter.elements[key]) filter.elements[key].value = value;
}

function assignee(ticket) {
  if (!ticket.assignee_id) return h("span", { class: "text-body-secondary", text: "Nobody" });
  return ticket.assignee_id === me.user_id ? "You" : h("span", { class: "font-monospace small", text: ticket.assignee_id });
}

function assignButton(ticket) {
  if (ticket.assignee_id === me.user_id || ticket.status === "completed") return "";
  return action(h("button", { type: "button", class: "btn btn-sm btn-outline-primary", text: "Assign to me", "aria-label": `Assign to me: ${ticket.ticket_id}` }), async () => {
    await post(`/admin/tickets/${encodeURIComponent(ticket.ticket_id)}/assign`);
    notify(`${ticket.ticket_id} is assigned to you.`);
    await load(values(filter));
  });
}

// The list comes a page at a time; "More tickets" reads on from where it stopped.
function load(query) {
  return pagedTable("ticket-list", {
    fetchPage: (cursor) => getPages("/admin/tickets", query, "tickets", { cursor }),
    columns: [
      { label: "Number", cell: (t) => link(`admin/ticket.html?id=${encodeURIComponent(t.ticket_id)}`, t.ticket_id, "font-monospace") },
      { label: "Subject", cell: (t) => t.subject },
      { label: "Category", cell: (t) => label(t.category) },
      { label: "Status", cell: (t) => badge(t.status) },
      { label: "Age", cell: (t) => `${t.age_days} d`, numeric: true },
      { label: "Raised", cell: (t) => dateTimeIST(t.created_at) },
      { label: "Assigned", cell: assignee },
      { label: "", cell: assignButton },
    ],
    caption: "Tickets, longest waiting first",
    empty: "No tickets match.",
    moreLabel: "More tickets",
    loadingText: "Loading tickets",
  });
}

onSubmit(filter, async (query) => {
  history.replaceState(null, "", `?${new URLSearchParams(query)}`);
  await load(query);
});

await load(values(filter));
