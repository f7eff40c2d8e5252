// A support ticket and its thread, shared by the customer's and the admin's pages.

import { get, post } from "./api.js";
import { h, badge, facts, onSubmit, link } from "./ui.js";
import { dateTimeIST, label } from "./format.js";
import { LANG, t } from "./i18n.js";

// A request's category as the customer reads it (others: the code spelled out).
const CATEGORIES = {
  bill: t("Bill"), meter: t("Meter"), payment: t("Payment"), other: t("Other"),
};

export const ticketPath = (id) => `/tickets/${encodeURIComponent(id)}`;

export function ticketHeader(ticket) {
  return h("div", { class: "mb-3" },
    h("div", { class: "d-flex flex-wrap align-items-center gap-2" },
      h("h1", { class: "page-title mb-0 me-2", text: ticket.subject }), badge(ticket.status)),
    h("p", { class: "text-body-secondary mb-0" }, h("span", { class: "font-monospace", text: ticket.ticket_id }),
      " · ", t("{category} · raised {time}", { category: CATEGORIES[ticket.category] || label(ticket.category), time: dateTimeIST(ticket.created_at) })));
}

export function ticketFacts(ticket, { billHref, propertyHref } = {}) {
  return facts([
    [t("Status"), badge(ticket.status)],
    [t("Raised"), dateTimeIST(ticket.created_at)],
    [t("First reply"), ticket.first_admin_response_at ? dateTimeIST(ticket.first_admin_response_at) : t("Waiting for a reply")],
    ticket.resolved_at ? [t("Resolved"), dateTimeIST(ticket.resolved_at)] : null,
    ticket.bill_id ? [t("Bill"), billHref ? link(billHref(ticket.bill_id), ticket.bill_id) : ticket.bill_id] : null,
    ticket.property_id ? [t("Property"), propertyHref ? link(propertyHref(ticket.property_id), t("View property")) : ticket.property_id] : null,
    ticket.reopen_count ? [t("Reopened"), t("{count} time(s)", { count: ticket.reopen_count })] : null,
  ], "row mb-2 small facts-wide");
}

export function resolution(ticket) {
  if (!ticket.resolution_note) return null;
  return h("div", { class: "alert alert-success", role: "status" },
    h("h2", { class: "h6", text: t("Resolution") }), h("p", { class: "comment-body mb-0", text: ticket.resolution_note }));
}

// A status event in the page's language from its facts; an English page and older events
// (without them) keep the English body the API wrote.
const STATUS_CHANGES = {
  open: t("Status changed to Open."), in_progress: t("Status changed to In progress."),
  completed: t("Status changed to Completed."),
};

function statusText(entry) {
  const sentence = STATUS_CHANGES[entry.status];
  if (LANG === "en" || !sentence) return entry.body;
  const reopened = entry.status === "open" && entry.author_role === "customer" && !entry.note;
  const note = reopened ? t("Reopened by the customer.") : entry.note;
  return note ? `${sentence} ${note}` : sentence;
}

function comment(entry) {
  if (entry.kind === "status") {
    return h("li", { class: "small text-body-secondary mb-3" }, h("span", { text: dateTimeIST(entry.created_at) }), " · ",
      h("span", { text: `${entry.author_name}: ${statusText(entry)}` }));
  }
  const admin = entry.author_role === "admin";
  return h("li", { class: `comment${admin ? " from-admin" : ""}` },
    h("div", { class: "small text-body-secondary" }, h("strong", { class: "text-body", text: entry.author_name }),
      admin ? h("span", { class: "badge text-bg-light border ms-1", text: t("Support team") }) : null,
      ` · ${dateTimeIST(entry.created_at)}`),
    h("p", { class: "comment-body mb-0", text: entry.body }));
}

/** The description and the conversation, with a form to add to it. */
export function thread(ticket, onChange) {
  const form = h("form", { id: "comment-form", class: "mt-3" },
    h("div", { class: "form-alert", "data-form-alert": true, role: "alert" }),
    h("label", { for: "comment-body", class: "form-label", text: t("Add a comment") }),
    h("textarea", { id: "comment-body", name: "body", class: "form-control", rows: 3, required: true, maxlength: 4000, "aria-describedby": "comment-body-error" }),
    h("div", { id: "comment-body-error", class: "invalid-feedback" }),
    h("button", { type: "submit", class: "btn btn-primary mt-2" },
      h("span", { class: "spinner-border spinner-border-sm me-1 d-none", "aria-hidden": "true" }), t("Send comment")));
  onSubmit(form, async (values) => {
    await post(`${ticketPath(ticket.ticket_id)}/comments`, { body: values.body });
    await onChange(t("Your comment is added."));
  });
  const comments = ticket.comments || [];
  return h("section", { "aria-labelledby": "thread-title" },
    h("h2", { class: "h5", id: "thread-title", text: t("Conversation") }),
    h("div", { class: "comment" }, h("div", { class: "small text-body-secondary", text: t("Description · {time}", { time: dateTimeIST(ticket.created_at) }) }),
      h("p", { class: "comment-body mb-0", text: ticket.description })),
    comments.length ? h("ol", { class: "list-unstyled mt-3", "aria-label": t("Comments") }, comments.map(comment))
      : h("p", { class: "text-body-secondary mt-3", text: t("No comments yet.") }),
    form);
}

export async function loadTicket(id) {
  return get(ticketPath(id));
}
