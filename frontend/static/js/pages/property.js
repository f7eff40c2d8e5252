import { get, post, put, del, siteUrl } from "../api.js";
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

// The owner states (or corrects) when a tenant moved in and out; bills split by these days.
function datesForm(rows) {
  const started = rows.filter((t) => t.start_date);
  if (!started.length) return null;
  const form = h("form", { id: "dates-form", class: "row g-2 align-items-start mt-2" },
    h("div", { class: "col-12 form-alert", id: "dates-alert", "data-form-alert": true, role: "alert" }),
    h("div", { class: "col-sm-4" },
      h("label", { for: "dates-tenancy", class: "form-label", text: "Tenancy" }),
      h("select", { id: "dates-tenancy", name: "tenancy_id", class: "form-select" },
        started.map((t) => h("option", { value: t.tenancy_id, text: `${t.tenant_name || t.invite_email}, from ${dateIST(t.start_date)}` })))),
    h("div", { class: "col-sm-3" },
      h("label", { for: "dates-move-in", class: "form-label", text: "Moved in" }),
      h("input", { id: "dates-move-in", name: "move_in", type: "date", class: "form-control" }),
      h("div", { id: "dates-move-in-error", class: "invalid-feedback" })),
    h("div", { class: "col-sm-3" },
      h("label", { for: "dates-move-out", class: "form-label", text: "Moved out" }),
      h("input", { id: "dates-move-out", name: "move_out", type: "date", class: "form-control" }),
      h("div", { id: "dates-move-out-error", class: "invalid-feedback" })),
    h("div", { class: "col-sm-2 pt-sm-4 mt-sm-2" },
      h("button", { type: "submit", class: "btn btn-outline-primary w-100" },
        h("span", { class: "spinner-border spinner-border-sm me-1 d-none", "aria-hidden": "true" }), "Save dates")));
  onSubmit(form, async ({ tenancy_id: tenancyId, ...dates }) => {
    await put(`${path}/tenancies/${encodeURIComponent(tenancyId)}/dates`, dates);
    notify("The tenancy's days are saved; bills not yet issued are split by them.");
    await load();
  });
  return h("div", {}, h("h3", { class: "h6 mt-3", text: "State move-in and move-out days" }),
    h("p", { class: "small text-body-secondary mb-0", text: "Months already billed are final." }), form);
}

function ownerSection(property) {
  const section = h("section", { class: "card mb-4", "aria-labelledby": "tenant-title" },
    h("div", { class: "card-body" }, h("h2", { class: "h5", id: "tenant-title", text: "Tenant" })));
  const body = section.firstChild;
  if (property.tenant) {
    body.append(
      h("p", {}, "Leased to ", h("strong", { text: property.tenant.name }), ` since ${dateIST(property.tenant.since)}.`),
      h("div", { class: "mb-2" },
        h("label", { for: "move-out", class: "form-label", text: "Move-out day (optional)" }),
        h("input", { id: "move-out", type: "date", class: "form-control w-auto", "aria-describedby": "move-out-help" }),
        h("div", { id: "move-out-help", class: "form-text", text: "The day the tenant left: you pay from that day. Leave it empty for today." })),
      confirmButton("Delist tenant", "End this tenancy?", "Yes, delist", async () => {
        const moveOut = document.getElementById("move-out").value;
        await del(`${path}/tenant${moveOut ? `?move_out=${encodeURIComponent(moveOut)}` : ""}`);
        notify(moveOut ? `The tenancy has ended. Bills from ${dateIST(moveOut)} come to you.` : "The tenancy has ended. Bills from today come to you.");
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
      h("div", { class: "col-sm-4" },
        h("label", { for: "invite-move-in", class: "form-label", text: "Move-in day (optional)" }),
        h("input", { id: "invite-move-in", name: "move_in", type: "date", class: "form-control", "aria-describedby": "invite-move-in-help invite-move-in-error" }),
        h("div", { id: "invite-move-in-help", class: "form-text", text: "They pay from this day; empty: the day they accept." }),
        h("div", { id: "invite-move-in-error", class: "invalid-feedback" })),
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
        h("h2", { class: "h5", id: "history-title", text: "Tenancy history" }), tenancyHistory(history), datesForm(history)));
    }
    fill("property", ...parts);
  } catch (error) {
    fill("property", errorState(error));
  }
}

await load();
