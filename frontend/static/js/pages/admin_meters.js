import { get, getPages, post } from "../api.js";
import { boot, h, badge, onSubmit, action, notify, pagedTable } from "../ui.js";
import { dateTimeIST, label, units } from "../format.js";
import { addressLine } from "../property_view.js";

await boot("admin");
const statusSelect = document.getElementById("meter-status");
const searchForm = document.getElementById("meter-search");
const serialInput = document.getElementById("find-serial");
const initial = new URLSearchParams(location.search);
if (initial.get("status")) statusSelect.value = initial.get("status");
if (initial.get("serial")) serialInput.value = initial.get("serial");
const assignForm = document.getElementById("assign-form");
const PAGE = 50;
let spare = [];  // registered meters not yet on a property: for assigning and replacing
// The meter registered on this page: offered for assigning even when the list of
// registered meters (one page of a large warehouse) does not reach it.
let justRegistered = null;
let addresses = {};  // property id -> address, for the list

const meterPath = (id) => `/admin/meters/${encodeURIComponent(id)}`;
const kwh = (wh) => (wh === null || wh === undefined ? "—" : units((BigInt(wh) / 1000n).toString()));

function registeredSpare() {
  return spare;
}

function replaceForm(meter, holder) {
  const id = `replace-${meter.meter_id}`;
  const spare = registeredSpare();
  const form = h("form", { class: "border rounded p-2 mt-2 bg-body-tertiary", "aria-label": `Replace ${meter.serial}` },
    h("div", { class: "form-alert", "data-form-alert": true, role: "alert" }),
    h("label", { class: "form-label small", for: `${id}-find`, text: "Find the new meter by serial" }),
    h("input", { id: `${id}-find`, type: "search", class: "form-control form-control-sm mb-2", maxlength: 64, spellcheck: "false", autocomplete: "off" }),
    h("label", { class: "form-label small", for: `${id}-new`, text: "Replacement meter" }),
    h("select", { id: `${id}-new`, name: "new_meter_id", class: "form-select form-select-sm", required: true },
      h("option", { value: "", text: spare.length ? "Choose a registered meter" : "Register the new meter first" }),
      spare.map((m) => h("option", { value: m.meter_id, text: `${m.serial} (${m.meter_id})` }))),
    h("label", { class: "form-label small mt-2", for: `${id}-final`, text: "Old meter's final register (Wh)" }),
    h("input", { id: `${id}-final`, name: "final_register_wh", type: "number", min: 0, step: 1, class: "form-control form-control-sm", required: true }),
    h("label", { class: "form-label small mt-2", for: `${id}-first`, text: "New meter's first register (Wh)" }),
    h("input", { id: `${id}-first`, name: "first_register_wh", type: "number", min: 0, step: 1, value: 0, class: "form-control form-control-sm", required: true }),
    h("div", { class: "d-flex gap-2 mt-2" },
      h("button", { type: "submit", class: "btn btn-sm btn-primary" }, h("span", { class: "spinner-border spinner-border-sm me-1 d-none", "aria-hidden": "true" }), "Replace"),
      h("button", { type: "button", class: "btn btn-sm btn-outline-secondary", text: "Cancel", on: { click: () => form.remove() } })));
  onSubmit(form, async (values) => {
    const result = await post(`${meterPath(meter.meter_id)}/replace`, values);
    notify(`${meter.serial} is replaced by ${result.new_meter.serial}.`);
    await load();
  });
  // The new meter in hand may be older than the registered meters offered: its serial
  // finds it (registered, not fitted anywhere) and adds it to the choices.
  let findTimer = null;
  form.querySelector(`#${CSS.escape(`${id}-find`)}`).addEventListener("input", (event) => {
    clearTimeout(findTimer);
    findTimer = setTimeout(async () => {
      const serial = event.target.value.trim();
      if (!serial) return;
      try {
        const found = (await get("/admin/meters", { serial, status: "registered", limit: 20 })).meters.filter((m) => !m.property_id);
        const select = form.elements.new_meter_id;
        for (const m of found) {
          if (![...select.options].some((o) => o.value === m.meter_id)) select.append(h("option", { value: m.meter_id, text: `${m.serial} (${m.meter_id})` }));
        }
        if (found.length === 1) select.value = found[0].meter_id;
      } catch (error) {
        notify(error.message, "danger");
      }
    }, 300);
  });
  holder.append(form);
  form.elements.new_meter_id.focus();
}

function actions(meter) {
  const box = h("div", { class: "d-flex flex-wrap gap-1" });
  const holder = h("div", {}, box);
  const button = (text, cls, handler) => action(h("button", { type: "button", class: `btn btn-sm ${cls}`, text, "aria-label": `${text} ${meter.serial}` }), handler);
  if (meter.status === "registered" && !meter.property_id) {
    box.append(h("button", { type: "button", class: "btn btn-sm btn-outline-primary", text: "Assign", "aria-label": `Assign ${meter.serial}`,
      on: { click: () => {
        // A meter found by search may be older than the registered meters offered.
        if (!spare.some((m) => m.meter_id === meter.meter_id)) { spare.unshift(meter); fillMeterChoices(); }
        assignForm.elements.meter_id.value = meter.meter_id;
        assignForm.elements.q.focus();
      } } }));
  }
  if ((meter.status === "registered" && meter.property_id) || meter.status === "inactive") {
    box.append(button("Activate", "btn-outline-success", async () => {
      await post(`${meterPath(meter.meter_id)}/activate`);
      notify(`${meter.serial} is active.`);
      await load();
    }));
  }
  if (meter.status === "active") {
    box.append(button("Deactivate", "btn-outline-danger", async () => {
      await post(`${meterPath(meter.meter_id)}/deactivate`);
      notify(`${meter.serial} is deactivated: it is not read and its readings are refused.`);
      await load();
    }));
  }
  if (meter.property_id && ["registered", "active", "inactive"].includes(meter.status)) {
    box.append(h("button", { type: "button", class: "btn btn-sm btn-outline-secondary", text: "Replace", "aria-label": `Replace ${meter.serial}`,
      on: { click: () => { if (!holder.querySelector("form")) replaceForm(meter, holder); } } }));
  }
  return holder;
}

function fillMeterChoices() {
  const select = assignForm.elements.meter_id;
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "", text: "Choose a registered meter" }),
    ...registeredSpare().map((m) => h("option", { value: m.meter_id, text: `${m.serial} (${m.meter_id})` })));
  select.value = chosen;
}

// What the meter can do (recorded at registration): protocol v1, or v2 with its registers.
function capabilities(m) {
  const c = m.capabilities || { protocol_version: 1 };
  if (c.protocol_version !== 2) return h("span", { class: "small", text: "v1 · live register" });
  const parts = [`${c.tod_zones} ToD zones`, c.export ? "export" : null, c.demand ? "max demand" : null].filter(Boolean);
  return h("div", { class: "small" }, h("div", { text: "v2 · billing snapshot" }),
    h("div", { class: "text-body-secondary", text: parts.join(" · ") }));
}

// The list comes a page at a time (newest registered first, or by serial when searching);
// "More meters" reads on from where it stopped. The first page comes with the registered
// meters offered for assigning and the addresses the list shows.
function load() {
  const query = { status: statusSelect.value, serial: serialInput.value.trim() };
  return pagedTable("meter-list", {
    path: "/admin/meters", query, itemsKey: "meters", pageSize: PAGE,
    alongside: async () => {
      const [registered, properties] = await Promise.all([get("/admin/meters", { status: "registered", limit: 100 }),
        get("/admin/properties", { has_meter: true, limit: 500 }).then((page) => page.properties).catch(() => [])]);
      addresses = Object.fromEntries(properties.map((p) => [p.property_id, addressLine(p.address)]));
      spare = registered.meters.filter((m) => !m.property_id);
      if (justRegistered && !spare.some((m) => m.meter_id === justRegistered.meter_id)) spare.unshift(justRegistered);
      fillMeterChoices();
    },
    columns: [
      { label: "Meter", cell: (m) => h("div", {}, h("div", { class: "fw-semibold", text: m.serial }), h("div", { class: "small text-body-secondary font-monospace text-nowrap", text: m.meter_id })) },
      { label: "Status", cell: (m) => badge(m.status) },
      { label: "Property", cell: (m) => m.property_id
        ? h("div", { class: "small" }, addresses[m.property_id] || "", h("div", { class: "font-monospace text-body-secondary", text: m.property_id }))
        : h("span", { class: "text-body-secondary", text: "Not assigned" }) },
      { label: "Protocol", cell: capabilities },
      { label: "Last reading", cell: (m) => m.last_read_at ? h("div", {}, kwh(m.last_register_wh), h("div", { class: "small text-body-secondary", text: dateTimeIST(m.last_read_at) })) : "—" },
      { label: "Actions", cell: actions },
    ],
    caption: "Meters",
    empty: query.serial ? `No meter's serial starts with ${query.serial}.` : "No meters here yet. Register one with the form.",
    moreLabel: "More meters",
    loadingText: "Loading meters",
  });
}

// Property search for the assign form: the admin types, we list matches without a meter.
let searchTimer = null;
assignForm.elements.q.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const q = assignForm.elements.q.value.trim();
    const select = assignForm.elements.property_id;
    if (q.length < 2) return;
    try {
      // Text matches over the pages of all properties (each request a bounded page).
      const found = (await getPages("/admin/properties", { q, has_meter: false }, "properties", { want: 20, maxPages: 10 })).rows.slice(0, 20);
      select.replaceChildren(h("option", { value: "", text: found.length ? `${found.length} match(es): choose one` : "No property without a meter matches" }),
        ...found.map((p) => h("option", { value: p.property_id, text: addressLine(p.address) })));
      if (found.length === 1) select.value = found[0].property_id;
    } catch (error) {
      notify(error.message, "danger");
    }
  }, 300);
});

onSubmit(assignForm, async (values, form) => {
  const assigned = await post(`${meterPath(values.meter_id)}/assign`, { property_id: values.property_id });
  if (justRegistered && justRegistered.meter_id === values.meter_id) justRegistered = null;
  if (values.activate) await post(`${meterPath(values.meter_id)}/activate`);
  form.reset();
  notify(`${assigned.meter.serial} is assigned${values.activate ? " and active" : ""}.`);
  await load();
});

onSubmit(document.getElementById("meter-form"), async (values, form) => {
  const meter = await post("/admin/meters", values);
  justRegistered = meter;
  form.reset();
  notify(`Meter ${meter.serial} is registered as ${meter.meter_id}.`);
  await load();
});

// Refused messages, newest first, a page at a time ("More refused messages").
function loadRefused() {
  return pagedTable("refused-list", {
    path: "/admin/meter-rejections", itemsKey: "rejections", pageSize: 20,
    columns: [
      { label: "Meter", cell: (r) => h("span", { class: "font-monospace small", text: r.meter_id }) },
      { label: "Reason", cell: (r) => h("div", {}, h("div", { text: label(r.reason) }), r.detail ? h("div", { class: "small text-body-secondary", text: r.detail }) : null) },
      { label: "Received", cell: (r) => dateTimeIST(r.received_at) },
      { label: "Body", cell: (r) => h("div", { class: "small" }, h("div", { text: `${r.body_bytes} bytes` }),
        r.body_sha256 ? h("div", { class: "font-monospace text-body-secondary text-break", title: "SHA-256 of the body as received", text: `SHA-256 ${r.body_sha256}` }) : null) },
    ],
    caption: "Refused messages, newest first",
    empty: "No message has been refused.",
    moreLabel: "More refused messages",
  });
}

// The filters stay in the address, so a reload (or a link) shows the same list.
function remember() {
  const query = new URLSearchParams();
  if (statusSelect.value) query.set("status", statusSelect.value);
  if (serialInput.value.trim()) query.set("serial", serialInput.value.trim());
  history.replaceState(null, "", query.toString() ? `?${query}` : location.pathname);
}
statusSelect.addEventListener("change", () => { remember(); load(); });
searchForm.addEventListener("submit", (event) => { event.preventDefault(); remember(); load(); });
await Promise.all([load(), loadRefused()]);
