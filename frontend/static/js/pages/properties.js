import { get, post, siteUrl } from "../api.js";
import { boot, h, fill, emptyState, errorState, onSubmit, badge, link, notify, param } from "../ui.js";
import { label } from "../format.js";
import { addressLine, meterBadge, latestBillSummary } from "../property_view.js";
import { t } from "../i18n.js";

await boot("customer");
if (param("left")) notify(t("You have left the property. Bills from today go to its owner."));

function propertyCard(property) {
  const owner = property.relationship === "owner";
  const tenantLine = owner
    ? (property.tenant ? t("Tenant: {name}", { name: property.tenant.name })
      : property.pending_invitation ? t("Invitation sent to {email}", { email: property.pending_invitation.email }) : t("No tenant"))
    : t("You rent this property");
  return h("div", { class: "col-md-6 col-xl-4" },
    h("article", { class: "card h-100", "aria-labelledby": `p-${property.property_id}` },
      h("div", { class: "card-body" },
        h("div", { class: "d-flex justify-content-between gap-2 mb-2" },
          badge(owner ? "active" : "invited", owner ? t("Owner") : t("Tenant")),
          h("span", { class: "small text-body-secondary", text: label(property.category) })),
        h("h2", { class: "h6 card-title", id: `p-${property.property_id}` },
          link(`property.html?id=${encodeURIComponent(property.property_id)}`, addressLine(property.address), "stretched-link text-reset")),
        h("p", { class: "small mb-2", text: t("Sanctioned load {load} kW", { load: property.sanctioned_load_kw }) + " · " + tenantLine }),
        h("div", { class: "d-flex flex-wrap gap-2 align-items-center small" }, meterBadge(property.meter_status),
          h("span", { class: "ms-auto" }, latestBillSummary(property.latest_bill))))));
}

async function load() {
  try {
    const [properties, invitations] = await Promise.all([get("/properties"), get("/tenancies/invitations")]);
    if (invitations.length) {
      fill("invitation-banner", h("div", { class: "alert alert-info d-flex flex-wrap align-items-center gap-2" },
        h("span", { text: invitations.length === 1 ? t("You have a tenant invitation waiting.") : t("You have {count} tenant invitations waiting.", { count: invitations.length }) }),
        link("invitations.html", t("See invitations"), "btn btn-sm btn-primary ms-auto")));
    }
    fill("property-list", properties.length
      ? h("div", { class: "row g-3" }, properties.map(propertyCard))
      : emptyState(t("You have no properties yet. Register your first property below.")));
  } catch (error) {
    fill("property-list", errorState(error));
  }
}

onSubmit(document.getElementById("register-form"), async (values) => {
  const property = await post("/properties", values);
  location.assign(siteUrl(`property.html?id=${encodeURIComponent(property.property_id)}&registered=1`));
});

// Categories are data (an administrator adds more): list what the API has.
get("/tariff-categories").then((categories) => {
  const select = document.getElementById("register-form").elements.namedItem("category");
  const chosen = select.value;
  select.replaceChildren(...categories.map((c) => h("option", { value: c.name, text: c.label })));
  select.value = categories.some((c) => c.name === chosen) ? chosen : categories[0].name;
}).catch(() => {});  // the built-in residential and commercial options stay

await load();
