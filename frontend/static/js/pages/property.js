import { get, post, put, del, siteUrl } from "../api.js";
import { boot, h, fill, errorState, facts, badge, table, link, onSubmit, notify, param, confirmButton, emptyState } from "../ui.js";
import { dateIST, dateTimeIST, label } from "../format.js";
import { addressLine, meterBadge, latestBillSummary } from "../property_view.js";
import { t } from "../i18n.js";
import { consumptionChart } from "../consumption_chart.js";

await boot("customer");
const id = param("id");
const path = `/properties/${encodeURIComponent(id || "")}`;

if (param("registered")) notify(t("Your property is registered. An administrator will assign its meter."));
if (param("accepted")) notify(t("You are now the tenant of this property."));

function tenancyHistory(rows) {
  if (!rows.length) return emptyState(t("No tenants yet."));
  return table([
    { label: t("Tenant"), cell: (row) => row.tenant_name || row.invite_email },
    { label: t("Status"), cell: (row) => badge(row.status) },
    { label: t("From"), cell: (row) => dateIST(row.start_date) },
    { label: t("Until"), cell: (row) => row.end_date ? dateIST(row.end_date) : (row.status === "active" ? t("now") : "—") },
    { label: t("Note"), cell: (row) => row.ended_reason ? label(row.ended_reason) : "" },
  ], rows, { caption: t("Tenancy history") });
}

// The owner states (or corrects) when a tenant moved in and out; bills split by these days.
function datesForm(rows) {
  const started = rows.filter((row) => row.start_date);
  if (!started.length) return null;
  const form = h("form", { id: "dates-form", class: "row g-2 align-items-start mt-2" },
    h("div", { class: "col-12 form-alert", id: "dates-alert", "data-form-alert": true, role: "alert" }),
    h("div", { class: "col-sm-4" },
      h("label", { for: "dates-tenancy", class: "form-label", text: t("Tenancy") }),
      h("select", { id: "dates-tenancy", name: "tenancy_id", class: "form-select" },
        started.map((row) => h("option", { value: row.tenancy_id, text: t("{name}, from {day}", { name: row.tenant_name || row.invite_email, day: dateIST(row.start_date) }) })))),
    h("div", { class: "col-sm-3" },
      h("label", { for: "dates-move-in", class: "form-label", text: t("Moved in") }),
      h("input", { id: "dates-move-in", name: "move_in", type: "date", class: "form-control" }),
      h("div", { id: "dates-move-in-error", class: "invalid-feedback" })),
    h("div", { class: "col-sm-3" },
      h("label", { for: "dates-move-out", class: "form-label", text: t("Moved out") }),
      h("input", { id: "dates-move-out", name: "move_out", type: "date", class: "form-control" }),
      h("div", { id: "dates-move-out-error", class: "invalid-feedback" })),
    h("div", { class: "col-sm-2 pt-sm-4 mt-sm-2" },
      h("button", { type: "submit", class: "btn btn-outline-primary w-100" },
        h("span", { class: "spinner-border spinner-border-sm me-1 d-none", "aria-hidden": "true" }), t("Save dates"))));
  onSubmit(form, async ({ tenancy_id: tenancyId, ...dates }) => {
    await put(`${path}/tenancies/${encodeURIComponent(tenancyId)}/dates`, dates);
    notify(t("The tenancy's days are saved; bills not yet issued are split by them."));
    await load();
  });
  return h("div", {}, h("h3", { class: "h6 mt-3", text: t("State move-in and move-out days") }),
    h("p", { class: "small text-body-secondary mb-0", text: t("Months already billed are final.") }), form);
}

function ownerSection(property) {
  const section = h("section", { class: "card mb-4", "aria-labelledby": "tenant-title" },
    h("div", { class: "card-body" }, h("h2", { class: "h5", id: "tenant-title", text: t("Tenant") })));
  const body = section.firstChild;
  if (property.tenant) {
    body.append(
      h("p", {}, t("Leased to "), h("strong", { text: property.tenant.name }), t(" since {day}.", { day: dateIST(property.tenant.since) })),
      h("div", { class: "mb-2" },
        h("label", { for: "move-out", class: "form-label", text: t("Move-out day (optional)") }),
        h("input", { id: "move-out", type: "date", class: "form-control w-auto", "aria-describedby": "move-out-help" }),
        h("div", { id: "move-out-help", class: "form-text", text: t("The day the tenant left: you pay from that day. Leave it empty for today.") })),
      confirmButton(t("Delist tenant"), t("End this tenancy?"), t("Yes, delist"), async () => {
        const moveOut = document.getElementById("move-out").value;
        await del(`${path}/tenant${moveOut ? `?move_out=${encodeURIComponent(moveOut)}` : ""}`);
        notify(moveOut ? t("The tenancy has ended. Bills from {day} come to you.", { day: dateIST(moveOut) }) : t("The tenancy has ended. Bills from today come to you."));
        await load();
      }));
  } else if (property.pending_invitation) {
    const invitation = property.pending_invitation;
    body.append(
      h("p", {}, t("Invitation sent to "), h("strong", { text: invitation.email }), t(" on {time}; waiting for them to accept.", { time: dateTimeIST(invitation.invited_at) })),
      confirmButton(t("Cancel invitation"), t("Cancel this invitation?"), t("Yes, cancel it"), async () => {
        await del(`${path}/invitations/${encodeURIComponent(invitation.tenancy_id)}`);
        notify(t("The invitation is cancelled."));
        await load();
      }));
  } else {
    const form = h("form", { id: "invite-form", class: "row g-2 align-items-start" },
      h("div", { class: "col-12 form-alert", id: "invite-alert", "data-form-alert": true, role: "alert" }),
      h("div", { class: "col-sm-8" },
        h("label", { for: "invite-email", class: "form-label", text: t("Tenant's email address") }),
        h("input", { id: "invite-email", name: "email", type: "email", class: "form-control", required: true, autocomplete: "off", "aria-describedby": "invite-email-help invite-email-error" }),
        h("div", { id: "invite-email-help", class: "form-text", text: t("They get an email; once they accept, they pay the bills for their days.") }),
        h("div", { id: "invite-email-error", class: "invalid-feedback" })),
      h("div", { class: "col-sm-4" },
        h("label", { for: "invite-move-in", class: "form-label", text: t("Move-in day (optional)") }),
        h("input", { id: "invite-move-in", name: "move_in", type: "date", class: "form-control", "aria-describedby": "invite-move-in-help invite-move-in-error" }),
        h("div", { id: "invite-move-in-help", class: "form-text", text: t("They pay from this day; empty: the day they accept.") }),
        h("div", { id: "invite-move-in-error", class: "invalid-feedback" })),
      h("div", { class: "col-sm-4 pt-sm-4 mt-sm-2" },
        h("button", { type: "submit", class: "btn btn-primary w-100" },
          h("span", { class: "spinner-border spinner-border-sm me-1 d-none", "aria-hidden": "true" }), t("Lease to tenant"))));
    onSubmit(form, async (values) => {
      await post(`${path}/tenants/invite`, values);
      notify(t("Invitation sent to {email}.", { email: values.email }));
      await load();
    });
    body.append(h("p", { class: "text-body-secondary", text: t("Nobody rents this property.") }), form);
  }
  return section;
}

function tenantSection(property) {
  const tenancy = property.tenancy;
  return h("section", { class: "card mb-4", "aria-labelledby": "tenancy-title" },
    h("div", { class: "card-body" },
      h("h2", { class: "h5", id: "tenancy-title", text: t("Your tenancy") }),
      h("p", {}, t("You rent this property since {day}.", { day: dateIST(tenancy.start_date) }), " ", badge(tenancy.status)),
      tenancy.status === "active" ? confirmButton(t("Leave property"), t("Leave this property today?"), t("Yes, leave"), async () => {
        await post(`${path}/leave`);
        // The property is no longer yours to see: back to the list.
        location.assign(siteUrl("properties.html?left=1"));
      }) : null));
}

// The daily consumption chart (the owner's; a tenant's from move-in), kept across reloads
// of the page's sections; shown once the meter has daily reads (on the daily cycle).
let consumption = null;
function consumptionSection(property) {
  if (property.relationship === "admin" || !property.meter_id) return null;
  if (consumption?.dataset.meter !== property.meter_id) {
    consumption = consumptionChart(property.meter_id, {
      onFirstLoad: (days) => { consumption.hidden = !days.length; },
    });
    consumption.dataset.meter = property.meter_id;
    consumption.hidden = true;
  }
  return consumption;
}

async function load() {
  try {
    const property = await get(path);
    const owner = property.relationship === "owner";
    document.title = `${property.address.line1} · ${document.title.split(" · ").pop()}`;
    const parts = [
      h("div", { class: "d-flex flex-wrap gap-2 align-items-center mb-1" },
        h("h1", { class: "page-title me-2", text: addressLine(property.address) })),
      h("p", { class: "page-lead" }, badge("active", owner ? t("Owner") : t("Tenant")), " ", meterBadge(property.meter_status)),
      h("div", { class: "row g-4" },
        h("div", { class: "col-lg-7" },
          h("section", { class: "card mb-4" }, h("div", { class: "card-body" },
            h("h2", { class: "h5", text: t("Connection") }),
            facts([
              [t("Category"), label(property.category)],
              [t("Sanctioned load"), `${property.sanctioned_load_kw} kW`],
              [t("Meter"), property.meter_id ? h("code", { text: property.meter_id }) : t("Not assigned yet")],
              property.created_at ? [t("Registered"), dateIST(property.created_at)] : null,
            ]))),
          owner ? ownerSection(property) : tenantSection(property)),
        h("div", { class: "col-lg-5" },
          h("section", { class: "card mb-4" }, h("div", { class: "card-body" },
            h("h2", { class: "h5", text: t("Latest bill") }),
            h("p", {}, latestBillSummary(property.latest_bill)),
            h("div", { class: "d-flex flex-wrap gap-2" },
              link(`bills.html?property=${encodeURIComponent(id)}`, t("All bills"), "btn btn-outline-primary btn-sm"),
              link(`tickets.html?property=${encodeURIComponent(id)}#raise`, t("Report a problem"), "btn btn-outline-secondary btn-sm")))))),
    ];
    parts.push(consumptionSection(property));
    if (owner) {
      const history = await get(`${path}/tenancies`);
      parts.push(h("section", { class: "mb-4", "aria-labelledby": "history-title" },
        h("h2", { class: "h5", id: "history-title", text: t("Tenancy history") }), tenancyHistory(history), datesForm(history)));
    }
    fill("property", ...parts);
  } catch (error) {
    fill("property", errorState(error));
  }
}

await load();
