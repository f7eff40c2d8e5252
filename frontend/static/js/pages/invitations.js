import { get, post, siteUrl } from "../api.js";
import { boot, h, fill, emptyState, errorState, action, link, notify } from "../ui.js";
import { dateTimeIST, label } from "../format.js";
import { addressLine } from "../property_view.js";
import { t } from "../i18n.js";

await boot("customer");

function invitationCard(invitation) {
  const accept = h("button", { type: "button", class: "btn btn-primary", text: t("Accept invitation") });
  action(accept, async () => {
    const property = await post(`/tenancies/${encodeURIComponent(invitation.tenancy_id)}/accept`);
    location.assign(siteUrl(`property.html?id=${encodeURIComponent(property.property_id)}&accepted=1`));
  });
  return h("article", { class: "card mb-3" }, h("div", { class: "card-body d-flex flex-wrap gap-3 align-items-center" },
    h("div", { class: "flex-grow-1" },
      h("h2", { class: "h6 mb-1", text: addressLine(invitation.address) }),
      h("p", { class: "small text-body-secondary mb-0", text: label(invitation.category) + " · " + t("invited {time}", { time: dateTimeIST(invitation.invited_at) }) })),
    accept));
}

try {
  const invitations = await get("/tenancies/invitations");
  fill("invitation-list", invitations.length
    ? invitations.map(invitationCard)
    : emptyState(t("There are no invitations for your email address."), link("properties.html", t("Back to properties"), "btn btn-outline-primary btn-sm")));
} catch (error) {
  fill("invitation-list", errorState(error));
  notify(error.message, "danger");
}
