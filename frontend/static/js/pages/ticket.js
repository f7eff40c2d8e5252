import { post } from "../api.js";
import { boot, h, fill, errorState, notify, param, action } from "../ui.js";
import { dateTimeIST } from "../format.js";
import { t } from "../i18n.js";
import { loadTicket, ticketFacts, ticketHeader, ticketPath, resolution, thread } from "../ticket_view.js";

await boot("customer");
const id = param("id") || "";
if (param("raised")) notify(t("Your request is raised. We will email you when its status changes."));

async function load(message) {
  try {
    const ticket = await loadTicket(id);
    document.title = `${ticket.ticket_id} · ${document.title.split(" · ").pop()}`;
    const reopenable = ticket.status === "completed" && ticket.reopenable_until && new Date(ticket.reopenable_until) > new Date();
    const reopen = reopenable ? action(h("button", { type: "button", class: "btn btn-outline-primary", text: t("Reopen request") }), async () => {
      await post(`${ticketPath(id)}/reopen`);
      await load(t("Your request is open again."));
    }) : null;
    fill("ticket",
      ticketHeader(ticket),
      h("div", { class: "row g-4" },
        h("div", { class: "col-lg-8" }, resolution(ticket), thread(ticket, load)),
        h("div", { class: "col-lg-4" }, h("section", { class: "card" }, h("div", { class: "card-body" },
          h("h2", { class: "h6", text: t("Details") }),
          ticketFacts(ticket, { billHref: (b) => `bill.html?id=${encodeURIComponent(b)}`, propertyHref: (p) => `property.html?id=${encodeURIComponent(p)}` }),
          reopen ? h("div", {}, h("p", { class: "small text-body-secondary", text: t("Not solved? You can reopen it until {time}.", { time: dateTimeIST(ticket.reopenable_until) }) }), reopen) : null)))));
    if (message) notify(message);
  } catch (error) {
    fill("ticket", errorState(error));
  }
}

await load();
