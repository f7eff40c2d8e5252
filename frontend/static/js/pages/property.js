import { get, post, del, siteUrl } from "../api.js";
import { boot, h, fill, errorState, facts, badge, table, link, onSubmit, notify, param, confirmButton, emptyState } from "../ui.js";
import { dateIST, dateTimeIST, label } from "../format.js";
import { addressLine, meterBadge, latestBillSummary } from "../property_view.js";

await boot("customer");
const id = param("id");
const path = `/properties/${encodeURIComponent(id || "")}`;

if (param("registered")) notify("Your property is registered. An administrator will assign its meter.");
if (param("accepted")) notify("You are now the tenant of this property.");

function tenancyHistory(rows) {
  if (!rows.length) return emptyState("No tenants yet.");
  return table([
    { label: "Tenant", cell: (t) => t.tenant_name || t.invite_email },
    { label: "Status", cell: (t) => badge(t.status) },
    { label: "From", cell: (t) => dateIST(t.start_date) },
    { label: "Until", cell: (t) => t.end_date ? dateIST(t.end_date) : (t.status === "active" ? "now" : "—") },
    { label: "Note", cell: (t) => t.ended_reason ? label(t.ended_reason) : "" },
  ], rows, { caption: "Tenancy history" });
}

function ownerSection(property) {
  const section = h("section", { class: "card mb-4", "aria-labelledby": "tenant-title" },
    h("div", { class: "card-body" }, h("h2", { class: "h5", id: "tenant-title", text: "Tenant" })));
  const body = section.firstChild;
  if (property.tenant) {
    body.append(
      h("p", {}, "Leased to ", h("strong", { text: property.tenant.name }), ` since ${dateIST(property.tenant.since)}.`),
      confirmButton("Delist tenant", "End this tenancy today?", "Yes, delist", async () => {
        await del(`${path}/tenant`);
        notify("The tenancy has ended. Bills from today come to you.");
        await load();
      }));
  } else if (property.pending_invitation) {
    const invitation = property.pending_invitation;
    body.append(
      h("p", {}, "Invitation sent to ", h("strong", { text: invitation.email }), ` on ${dateTimeIST(invitation.invited_at)}; waiting for them to accept.`),
      confirmButton("Cancel invitation", "Cancel this invitation?", "Yes, cancel it", async () => {
        await del(`${path}/invitations/${encodeURIComponent(invitation.tenancy_id)}`);
        notify("The invitation is cancelled.");
        await load();
      }));
  } else {
    const form = h("form", { id: "invite-form", class: "row g-2 align-items-start" },
      h("div", { class: "col-12 form-alert", id: "invite-alert", "data-form-alert": true, role: "alert" }),
      h("div", { class: "col-sm-8" },
        h("label", { for: "invite-email", class: "form-label", text: "Tenant's email address" }),
        h("input", { id: "invite-email", name: "email", type: "email", class: "form-control", required: true, autocomplete: "off", "aria-describedby": "invite-email-help invite-email-error" }),
        h("div", { id: "invite-email-help", class: "form-text", text: "They get an email; once they accept, they pay the bills for their days." }),
        h("div", { id: "invite-email-error", class: "invalid-feedback" })),
      h("div", { class: "col-sm-4 pt-sm-4 mt-sm-2" },
        h("button", { type: "submit", class: "btn btn-primary w-100" },
          h("span", { class: "spinner-border spinner-border-sm me-1 d-none", "aria-hidden": "true" }), "Lease to tenant")));
    onSubmit(form, async (values) => {
      await post(`${path}/tenants/invite`, values);
      notify(`Invitation sent to ${values.email}.`);
      await load();
    });
    body.append(h("p", { class: "text-body-secondary", text: "Nobody rents this property." }), form);
  }
  return section;
}

function tenantSection(property) {
  const tenancy = property.tenancy;
  return h("section", { class: "card mb-4", "aria-labelledby": "tenancy-title" },
    h("div", { class: "card-body" },
      h("h2", { class: "h5", id: "tenancy-title", text: "Your tenancy" }),
      h("p", {}, `You rent this property since ${dateIST(tenancy.start_date)}. `, badge(tenancy.status)),
      tenancy.status === "active" ? confirmButton("Leave property", "Leave this property today?", "Yes, leave", async () => {
        await post(`${path}/leave`);
        // The property is no longer yours to see: back to the list.
        location.assign(siteUrl("properties.html?left=1"));
      }) : null));
}

async function load() {
  try {
    const property = await get(path);
    const owner = property.relationship === "owner";
    document.title = `${property.address.line1} · ${document.title.split(" · ").pop()}`;
    const parts = [
      h("div", { class: "d-flex flex-wrap gap-2 align-items-center mb-1" },
        h("h1", { class: "page-title me-2", text: addressLine(property.address) })),
      h("p", { class: "page-lead" }, badge("active", owner ? "Owner" : "Tenant"), " ", meterBadge(property.meter_status)),
      h("div", { class: "row g-4" },
        h("div", { class: "col-lg-7" },
          h("section", { class: "card mb-4" }, h("div", { class: "card-body" },
            h("h2", { class: "h5", text: "Connection" }),
            facts([
              ["Category", label(property.category)],
              ["Sanctioned load", `${property.sanctioned_load_kw} kW`],
              ["Meter", property.meter_id ? h("code", { text: property.meter_id }) : "Not assigned yet"],
              property.created_at ? ["Registered", dateIST(property.created_at)] : null,
            ]))),
          owner ? ownerSection(property) : tenantSection(property)),
        h("div", { class: "col-lg-5" },
          h("section", { class: "card mb-4" }, h("div", { class: "card-body" },
            h("h2", { class: "h5", text: "Latest bill" }),
            h("p", {}, latestBillSummary(property.latest_bill)),
            h("div", { class: "d-flex flex-wrap gap-2" },
              link(`bills.html?property=${encodeURIComponent(id)}`, "All bills", "btn btn-outline-primary btn-sm"),
              link(`tickets.html?property=${encodeURIComponent(id)}#raise`, "Report a problem", "btn btn-outline-secondary btn-sm")))))),
    ];
    if (owner) {
      const history = await get(`${path}/tenancies`);
      parts.push(h("section", { class: "mb-4", "aria-labelledby": "history-title" },
        h("h2", { class: "h5", id: "history-title", text: "Tenancy history" }), tenancyHistory(history)));
    }
    fill("property", ...parts);
  } catch (error) {
    fill("property", errorState(error));
  }
}

await load();
