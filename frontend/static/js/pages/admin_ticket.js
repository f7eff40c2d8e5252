import { get, post } from "../api.js";
import { boot, h, fill, errorState, notify, param, action, onSubmit } from "../ui.js";
import { loadTicket, ticketFacts, ticketHeader, resolution, thread } from "../ticket_view.js";

const me = await boot("admin");
const id = param("id") || "";
const adminPath = `/admin/tickets/${encodeURIComponent(id)}`;

function statusForm(ticket) {
  const form = h("form", { id: "status-form", class: "mt-3" },
    h("div", { class: "form-alert", "data-form-alert": true, role: "alert" }),
    h("label", { for: "status-status", class: "form-label", text: "Move to" }),
    h("select", { id: "status-status", name: "status", class: "form-select", "aria-describedby": "status-status-error" },
      [["open", "Open"], ["in_progress", "In progress"], ["completed", "Completed (resolved)"]].map(([value, text]) =>
        h("option", { value, text, selected: value === ticket.status }))),
    h("div", { id: "status-status-error", class: "invalid-feedback" }),
    h("div", { class: "mt-2", id: "note-box" },
      h("label", { for: "status-resolution_note", class: "form-label", text: "Resolution note (sent to the customer)" }),
      h("textarea", { id: "status-resolution_note", name: "resolution_note", class: "form-control", rows: 3, maxlength: 4000, "aria-describedby": "status-resolution_note-error" }),
      h("div", { id: "status-resolution_note-error", class: "invalid-feedback" })),
    h("button", { type: "submit", class: "btn btn-primary mt-2" },
      h("span", { class: "spinner-border spinner-border-sm me-1 d-none", "aria-hidden": "true" }), "Update status"));
  const noteBox = form.querySelector("#note-box");
  const sync = () => {
    const completing = form.elements.status.value === "completed";
    noteBox.hidden = !completing;
    form.elements.resolution_note.required = completing;
  };
  form.elements.status.addEventListener("change", sync);
  sync();
  onSubmit(form, async (values) => {
    const body = { status: values.status };
    if (values.status === "completed") body.resolution_note = values.resolution_note;
    await post(`${adminPath}/status`, body);
    await load(values.status === "completed" ? "The ticket is resolved and the customer has been emailed." : "The status is updated.");
  });
  return form;
}

async function load(message) {
  try {
    const ticket = await loadTicket(id);
    const customer = await get(`/admin/users/${encodeURIComponent(ticket.customer_id)}`).catch(() => null);
    document.title = `${ticket.ticket_id} · ${document.title.split(" · ").pop()}`;
    const mine = ticket.assignee_id === me.user_id;
    const assign = mine ? h("p", { class: "mb-0", text: "Assigned to you." })
      : action(h("button", { type: "button", class: "btn btn-outline-primary", text: "Assign to me" }), async () => {
        await post(`${adminPath}/assign`);
        await load("The ticket is assigned to you.");
      });
    fill("ticket",
      ticketHeader(ticket),
      h("div", { class: "row g-4" },
        h("div", { class: "col-lg-8" }, resolution(ticket), thread(ticket, load)),
        h("div", { class: "col-lg-4" },
          h("section", { class: "card mb-3" }, h("div", { class: "card-body" },
            h("h2", { class: "h6", text: "Details" }),
            ticketFacts(ticket),
            h("h3", { class: "h6 mt-3", text: "Customer" }),
            customer ? h("p", { class: "small mb-0" }, h("span", { class: "fw-semibold", text: customer.name }), h("br"),
              h("span", { text: customer.email }), h("br"), h("span", { text: customer.mobile }))
              : h("p", { class: "small font-monospace mb-0", text: ticket.customer_id }))),
          h("section", { class: "card" }, h("div", { class: "card-body" },
            h("h2", { class: "h6", text: "Handle" }), assign, statusForm(ticket))))));
    if (message) notify(message);
  } catch (error) {
    fill("ticket", errorState(error));
  }
}

await load();
