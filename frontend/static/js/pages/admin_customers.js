import { getPages, post } from "../api.js";
import { boot, h, badge, action, notify, onSubmit, pagedTable } from "../ui.js";
import { dateTimeIST } from "../format.js";

await boot("admin");
const statusSelect = document.getElementById("customer-status");
const initial = new URLSearchParams(location.search).get("status");
if (initial) statusSelect.value = initial;

/** An inline "reason" form that posts to `path` (reject, suspend). */
function reasonForm(user, verb, path, done) {
  const id = `${verb}-${user.user_id}`;
  const form = h("form", { class: "mt-2", "aria-label": `${verb} ${user.name}` },
    h("div", { class: "form-alert", "data-form-alert": true, role: "alert" }),
    h("label", { for: `${id}-reason`, class: "form-label small", text: `Reason (sent to ${user.name})` }),
    h("textarea", { id: `${id}-reason`, name: "reason", class: "form-control form-control-sm", rows: 2, required: true, maxlength: 500, "aria-describedby": `${id}-reason-error` }),
    h("div", { id: `${id}-reason-error`, class: "invalid-feedback" }),
    h("div", { class: "mt-2 d-flex gap-2" },
      h("button", { type: "submit", class: "btn btn-sm btn-danger" },
        h("span", { class: "spinner-border spinner-border-sm me-1 d-none", "aria-hidden": "true" }), `Confirm ${verb.toLowerCase()}`),
      h("button", { type: "button", class: "btn btn-sm btn-outline-secondary", text: "Cancel", on: { click: () => form.remove() } })));
  onSubmit(form, async (values) => {
    await post(path, { reason: values.reason });
    done();
  });
  return form;
}

function actions(user) {
  const cell = h("div", { class: "d-flex flex-wrap gap-2" });
  const base = `/admin/users/${encodeURIComponent(user.user_id)}`;
  const after = (message) => async () => {
    notify(message);
    await load();
  };
  const openReason = (verb, path, message) => {
    const holder = cell.parentElement;
    if (holder.querySelector("form")) return;
    const form = reasonForm(user, verb, path, after(message));
    holder.append(form);
    form.querySelector("textarea").focus();
  };
  if (user.status === "pending_review") {
    cell.append(
      action(h("button", { type: "button", class: "btn btn-sm btn-success", text: "Verify", "aria-label": `Verify ${user.name}` }), async () => {
        await post(`${base}/verify`);
        await after(`${user.name} is verified and has been emailed.`)();
      }),
      h("button", { type: "button", class: "btn btn-sm btn-outline-danger", text: "Reject", "aria-label": `Reject ${user.name}`,
        on: { click: () => openReason("Reject", `${base}/reject`, `${user.name} is rejected and has been emailed the reason.`) } }));
  } else if (user.status === "verified") {
    cell.append(h("button", { type: "button", class: "btn btn-sm btn-outline-danger", text: "Suspend", "aria-label": `Suspend ${user.name}`,
      on: { click: () => openReason("Suspend", `${base}/suspend`, `${user.name} is suspended.`) } }));
  } else if (user.status === "suspended") {
    cell.append(action(h("button", { type: "button", class: "btn btn-sm btn-outline-success", text: "Reactivate", "aria-label": `Reactivate ${user.name}` }), async () => {
      await post(`${base}/reactivate`);
      await after(`${user.name} is active again.`)();
    }));
  }
  return h("div", {}, cell);
}

// A page at a time, oldest first; "More customers" reads on from where it stopped.
function load() {
  return pagedTable("customer-list", {
    fetchPage: (cursor) => getPages("/admin/users", { role: "customer", status: statusSelect.value }, "accounts", { cursor }),
    columns: [
      { label: "Name", cell: (u) => h("div", {}, h("div", { class: "fw-semibold", text: u.name }), u.status_reason ? h("div", { class: "small text-body-secondary", text: u.status_reason }) : null) },
      { label: "Email", cell: (u) => u.email },
      { label: "Mobile", cell: (u) => u.mobile },
      { label: "Signed up", cell: (u) => dateTimeIST(u.created_at) },
      { label: "Status", cell: (u) => badge(u.status) },
      { label: "Action", cell: actions },
    ],
    caption: `Customers: ${statusSelect.selectedOptions[0].textContent}`,
    empty: statusSelect.value === "pending_review" ? "Nobody is waiting for verification." : "No customers with this status.",
    moreLabel: "More customers",
    loadingText: "Loading customers",
  });
}

onSubmit(document.getElementById("invite-admin-form"), async (values, form) => {
  const digits = (values.mobile || "").replace(/[\s-]/g, "");
  const mobile = /^[6-9]\d{9}$/.test(digits) ? `+91${digits}` : values.mobile;
  const invited = await post("/admin/invitations", { ...values, mobile });
  form.reset();
  notify(`${invited.name} is invited as an administrator: they have been emailed a link to confirm.`);
});

statusSelect.addEventListener("change", () => load());
await load();
