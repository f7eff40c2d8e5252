import { ApiError, api, get, post } from "../api.js";
import { boot, h, fill, table, badge, emptyState, errorState, onSubmit, notify, showLoading, confirmButton, clearErrors, showErrors, setBusy } from "../ui.js";
import { dateIST, label, rupees, period } from "../format.js";
import { lineQuantity, lineRate } from "../bill_view.js";

await boot("admin");
const form = document.getElementById("tariff-form");

// The repeating parts of a tariff: each row is one slab or charge.
const GROUPS = {
  energy: {
    key: "energy_slabs", box: "energy-slabs", title: "Energy slab",
    fields: [
      { name: "from_units", label: "From (kWh)", type: "number", int: true },
      { name: "to_units", label: "To (kWh, empty = no limit)", type: "number", int: true, optional: true },
      { name: "rate_per_kwh", label: "₹ per kWh", decimal: true },
    ],
  },
  load: {
    key: "load_slabs", box: "load-slabs", title: "Load slab",
    fields: [
      { name: "from_kw", label: "Above (kW)", decimal: true },
      { name: "to_kw", label: "Up to (kW, empty = no limit)", decimal: true, optional: true },
      { name: "rate_per_kw", label: "₹ per kW", decimal: true },
      { name: "per_connection", label: "₹ per connection (empty: none)", decimal: true, optional: true, omitEmpty: true },
    ],
  },
  percentage: {
    key: "percentage_charges", box: "percentage-charges", title: "Percentage charge",
    fields: [
      { name: "name", label: "Charge name" },
      { name: "percent", label: "Percent", decimal: true },
      { name: "base", label: "Charged on", options: [["energy+fixed", "Energy + fixed"], ["energy", "Energy"], ["fixed", "Fixed (and demand)"], ["units", "Per-unit charges"], ["energy+fixed+units", "Energy + fixed + per-unit"], ["subtotal", "Subtotal so far"]] },
    ],
  },
  unit: {
    key: "unit_charges", box: "unit-charges", title: "Per-unit charge",
    fields: [
      { name: "name", label: "Charge name" },
      { name: "rate_per_kwh", label: "₹ per kWh", decimal: true },
      { name: "effective_from", label: "From (empty: always)", type: "date", optional: true },
      { name: "effective_to", label: "To (empty: open)", type: "date", optional: true },
    ],
  },
  zone: {
    key: "time_of_day.zones", box: "tod-zones", title: "Zone",
    fields: [
      { name: "name", label: "Zone" },
      { name: "start_hour", label: "From hour (IST)", type: "number", int: true },
      { name: "end_hour", label: "To hour", type: "number", int: true },
      { name: "percent", label: "% (− rebate, + surcharge)", decimal: true, optional: true, omitEmpty: true },
      { name: "rate_per_kwh", label: "or ₹ per kWh instead of %", decimal: true, optional: true, omitEmpty: true },
    ],
  },
  band: {
    key: "subsidy.bands", box: "subsidy-bands", title: "Subsidy band",
    fields: [
      { name: "from_units", label: "From (kWh)", type: "number", int: true },
      { name: "to_units", label: "To (kWh, empty = no limit)", type: "number", int: true, optional: true },
      { name: "percent", label: "Percent", decimal: true },
      { name: "cap", label: "Cap ₹ (empty: none)", decimal: true, optional: true },
    ],
  },
  flat: {
    key: "flat_charges", box: "flat-charges", title: "Flat charge",
    fields: [
      { name: "name", label: "Charge name" },
      { name: "amount", label: "₹ per month", decimal: true },
    ],
  },
};

let rowCounter = 0;

function addRow(kind, values = {}) {
  const group = GROUPS[kind];
  const box = document.getElementById(group.box);
  const row = h("div", { class: "row g-2 align-items-end mb-2", dataset: { row: kind } });
  const uid = ++rowCounter;
  for (const field of group.fields) {
    const id = `${kind}-${uid}-${field.name}`;
    const control = field.options
      ? h("select", { id, class: "form-select form-select-sm", dataset: { name: field.name } },
        field.options.map(([value, text]) => h("option", { value, text })))
      : h("input", { id, class: "form-control form-control-sm", dataset: { name: field.name },
        type: field.type || "text", inputmode: field.decimal ? "decimal" : null, min: field.int ? 0 : null, step: field.int ? 1 : null });
    if (values[field.name] !== undefined && values[field.name] !== null) control.value = String(values[field.name]);
    row.append(h("div", { class: "col" }, h("label", { for: id, class: "form-label small mb-1", text: field.label }), control));
  }
  const remove = h("button", { type: "button", class: "btn btn-sm btn-outline-danger", text: "Remove", "aria-label": `Remove ${group.title.toLowerCase()}` });
  remove.addEventListener("click", () => {
    row.remove();
    renumber();
  });
  row.append(h("div", { class: "col-auto" }, remove));
  box.append(row);
  renumber();
  return row;
}

// data-field follows the row's position, so the API's "energy_slabs.1.to_units" finds its input.
function renumber() {
  for (const group of Object.values(GROUPS)) {
    document.querySelectorAll(`#${group.box} [data-row]`).forEach((row, index) => {
      for (const control of row.querySelectorAll("[data-name]")) control.dataset.field = `${group.key}.${index}.${control.dataset.name}`;
    });
  }
}

function rowsOf(kind) {
  const group = GROUPS[kind];
  return Array.from(document.querySelectorAll(`#${group.box} [data-row]`)).map((row) => {
    const item = {};
    for (const field of group.fields) {
      const raw = row.querySelector(`[data-name="${field.name}"]`).value.trim();
      // omitEmpty: an empty input leaves the field out (the API's default applies).
      if (raw === "" && field.optional) { if (!field.omitEmpty) item[field.name] = null; }
      else if (field.int && /^\d+$/.test(raw)) item[field.name] = Number(raw);
      else item[field.name] = raw;
    }
    return item;
  });
}

const text = (name) => form.elements.namedItem(name).value.trim();
const whole = (raw) => (/^\d+$/.test(raw) ? Number(raw) : raw);

// An optional part of the tariff: present when any of its inputs is filled in.
function section(names, build) {
  return names.some((name) => text(name) !== "") ? build() : null;
}

function draft() {
  const f = form.elements;
  const body = {
    name: f.name.value.trim(),
    category: f.category.value,
    effective_from: f.effective_from.value,
    due_days: whole(f.due_days.value.trim()),
    late_payment_surcharge_percent: f.late_payment_surcharge_percent.value.trim(),
    energy_slab_mode: text("energy_slab_mode"),
    energy_slabs: rowsOf("energy"),
    load_slabs: rowsOf("load"),
    unit_charges: rowsOf("unit"),
    percentage_charges: rowsOf("percentage"),
    flat_charges: rowsOf("flat"),
  };
  // Energy tables by sanctioned load: JSON, rates as strings ("4.71"); a fraction typed
  // as a number is kept as its text. Not JSON: sent as typed, the API names the field.
  const byLoad = text("energy_by_load");
  if (byLoad) {
    try {
      body.energy_by_load = JSON.parse(byLoad, (_, v) => (typeof v === "number" && !Number.isInteger(v) ? String(v) : v));
    } catch {
      body.energy_by_load = byLoad;
    }
  }
  const single = section(["no_slab_benefit_above.from_units", "no_slab_benefit_above.rate_per_kwh"], () => ({
    from_units: whole(text("no_slab_benefit_above.from_units")), rate_per_kwh: text("no_slab_benefit_above.rate_per_kwh") }));
  if (single) body.no_slab_benefit_above = single;
  const zones = rowsOf("zone");
  if (zones.length) {
    const months = text("time_of_day.months");
    body.time_of_day = { zones, min_load_kw: text("time_of_day.min_load_kw") || "0",
      months: months ? months.split(",").map((m) => whole(m.trim())) : [] };
  }
  const demand = section(["demand.rate_per_kw"], () => ({ rate_per_kw: text("demand.rate_per_kw"),
    contract_percent: text("demand.contract_percent") || "0", excess_rate_per_kw: text("demand.excess_rate_per_kw") || "0" }));
  if (demand) body.demand = demand;
  const minimum = section(["minimum_charge.amount", "minimum_charge.per_kw"], () => ({
    amount: text("minimum_charge.amount") || "0", per_kw: text("minimum_charge.per_kw") || "0" }));
  if (minimum) body.minimum_charge = minimum;
  if (text("metering.scheme")) {
    body.metering = { scheme: text("metering.scheme"), export_rate_per_kwh: text("metering.export_rate_per_kwh"),
      settlement_month: whole(text("metering.settlement_month") || "3") };
  }
  const bands = rowsOf("band");
  if (bands.length) body.subsidy = { name: text("subsidy.name") || "Government subsidy", base: text("subsidy.base"), bands };
  return body;
}

function setText(name, value) {
  const control = form.elements.namedItem(name);
  if (control) control.value = value === undefined || value === null ? "" : String(value);
}

function load(tariff) {
  for (const group of Object.values(GROUPS)) document.getElementById(group.box).replaceChildren();
  const f = form.elements;
  f.name.value = tariff.name || "";
  f.category.value = tariff.category || "residential";
  f.effective_from.value = tariff.effective_from || "";
  f.due_days.value = tariff.due_days ?? 15;
  f.late_payment_surcharge_percent.value = tariff.late_payment_surcharge_percent ?? "";
  (tariff.energy_slabs || []).forEach((row) => addRow("energy", row));
  (tariff.load_slabs || []).forEach((row) => addRow("load", row));
  (tariff.percentage_charges || []).forEach((row) => addRow("percentage", row));
  (tariff.flat_charges || []).forEach((row) => addRow("flat", row));
  (tariff.unit_charges || []).forEach((row) => addRow("unit", row));
  setText("energy_slab_mode", tariff.energy_slab_mode || "telescopic");
  setText("energy_by_load", tariff.energy_by_load?.length ? JSON.stringify(tariff.energy_by_load) : "");
  setText("no_slab_benefit_above.from_units", tariff.no_slab_benefit_above?.from_units);
  setText("no_slab_benefit_above.rate_per_kwh", tariff.no_slab_benefit_above?.rate_per_kwh);
  (tariff.time_of_day?.zones || []).forEach((row) => addRow("zone", row));
  setText("time_of_day.min_load_kw", tariff.time_of_day?.min_load_kw);
  setText("time_of_day.months", (tariff.time_of_day?.months || []).join(","));
  setText("demand.rate_per_kw", tariff.demand?.rate_per_kw);
  setText("demand.contract_percent", tariff.demand?.contract_percent);
  setText("demand.excess_rate_per_kw", tariff.demand?.excess_rate_per_kw);
  setText("minimum_charge.amount", tariff.minimum_charge?.amount);
  setText("minimum_charge.per_kw", tariff.minimum_charge?.per_kw);
  setText("metering.scheme", tariff.metering?.scheme || "");
  setText("metering.export_rate_per_kwh", tariff.metering?.export_rate_per_kwh);
  setText("metering.settlement_month", tariff.metering?.settlement_month ?? 3);
  setText("subsidy.name", tariff.subsidy?.name || "Government subsidy");
  setText("subsidy.base", tariff.subsidy?.base || "gross");
  (tariff.subsidy?.bands || []).forEach((row) => addRow("band", row));
  clearErrors(form);
}

// Delhi DERC domestic FY2019-20: the worked example of the billing rules.
const DERC = {
  name: "DERC domestic FY2019-20", category: "residential", due_days: 15, late_payment_surcharge_percent: "1.5",
  energy_slabs: [
    { from_units: 0, to_units: 200, rate_per_kwh: "3.00" }, { from_units: 200, to_units: 400, rate_per_kwh: "4.50" },
    { from_units: 400, to_units: 800, rate_per_kwh: "6.50" }, { from_units: 800, to_units: 1200, rate_per_kwh: "7.00" },
    { from_units: 1200, to_units: null, rate_per_kwh: "8.00" },
  ],
  load_slabs: [
    { from_kw: "0", to_kw: "2", rate_per_kw: "20" }, { from_kw: "2", to_kw: "5", rate_per_kw: "50" },
    { from_kw: "5", to_kw: "15", rate_per_kw: "100" }, { from_kw: "15", to_kw: "25", rate_per_kw: "200" },
    { from_kw: "25", to_kw: null, rate_per_kw: "250" },
  ],
  percentage_charges: [
    { name: "Pension trust surcharge", percent: "7", base: "energy+fixed" },
    { name: "Regulatory asset surcharge", percent: "8", base: "energy+fixed" },
  ],
  flat_charges: [],
};

for (const button of document.querySelectorAll("[data-add]")) {
  button.addEventListener("click", () => addRow(button.dataset.add).querySelector("input, select").focus());
}
document.querySelector("[data-action=fill-derc]").addEventListener("click", () => load({ ...DERC, effective_from: form.elements.effective_from.value }));

onSubmit(form, async () => {
  const created = await post("/admin/tariffs", draft());
  notify(`${created.name} (${label(created.category)}) takes effect on ${dateIST(created.effective_from)}.`);
  await loadList();
});

// ------------------------------------------------------------------ list

function versionActions(version) {
  const copy = h("button", { type: "button", class: "btn btn-sm btn-outline-primary", text: "Copy to form", "aria-label": `Copy to form: ${version.name}` });
  copy.addEventListener("click", () => {
    load({ ...version.tariff, effective_from: "" });
    form.elements.effective_from.focus();
  });
  const box = h("div", { class: "d-flex flex-wrap gap-1" }, copy);
  if (!version.locked) {
    box.append(confirmButton("Delete", "Delete this version?", "Yes, delete", async () => {
      await api(`/admin/tariffs/${encodeURIComponent(version.category)}/${encodeURIComponent(version.effective_from)}`, { method: "DELETE" });
      notify(`${version.name} is deleted.`);
      await loadList();
    }, "btn btn-sm btn-outline-danger"));
  }
  return box;
}

function slabSummary(tariff) {
  return tariff.energy_slabs.map((s) => `${s.to_units === null ? `>${s.from_units}` : `${s.from_units}–${s.to_units}`}: ₹${s.rate_per_kwh}`).join(" · ");
}

async function loadList() {
  showLoading("tariff-list", "Loading tariffs");
  try {
    const versions = await get("/admin/tariffs");
    fill("tariff-list", versions.length
      ? table([
        { label: "Category", cell: (v) => label(v.category) },
        { label: "Name", cell: (v) => h("div", {}, h("div", { class: "fw-semibold", text: v.name }), h("div", { class: "small text-body-secondary", text: slabSummary(v.tariff) })) },
        { label: "Effective from", cell: (v) => dateIST(v.effective_from) },
        { label: "State", cell: (v) => v.locked ? h("span", {}, badge("closed", "Locked"), v.last_priced_period ? h("div", { class: "small text-body-secondary", text: `priced ${period(v.last_priced_period)}` }) : null) : badge("open", "Editable") },
        { label: "", cell: versionActions },
      ], versions, { caption: "Tariff versions", stack: true })
      : emptyState("No tariffs yet. Create the first version below."));
  } catch (error) {
    fill("tariff-list", errorState(error));
  }
}

// ------------------------------------------------------------------ preview

const previewForm = document.getElementById("preview-form");
onSubmit(previewForm, async (values) => {
  const body = { category: values.category, units: values.units, sanctioned_load_kw: values.sanctioned_load_kw };
  if (values.period) body.period = values.period;
  for (const name of ["export_units", "banked_units"]) if (values[name] !== "" && values[name] !== undefined) body[name] = whole(String(values[name]));
  if (values.tod_units) body.tod_units = String(values.tod_units).split(",").map((z) => whole(z.trim()));
  if (values.max_demand_kw) body.max_demand_kw = String(values.max_demand_kw);
  if (values.source === "draft") {
    // Errors in the draft belong to the tariff form's fields.
    clearErrors(form);
    body.tariff = draft();
    body.category = body.tariff.category;
  }
  let result;
  try {
    result = await post("/tariffs/preview", body);
  } catch (error) {
    if (body.tariff && error.details && error.details.some((d) => String(d.field).startsWith("tariff."))) {
      const details = error.details.map((d) => ({ ...d, field: String(d.field).replace(/^tariff\./, "") }));
      showErrors(form, new ApiError(error.status, { message: "The draft tariff has errors.", details }, error.message));
    }
    throw error;
  }
  const lines = result.priced.lines;
  const priced = result.priced;
  const net = priced.net_metering;
  fill("preview-result",
    h("p", {}, `${result.tariff_name} (${result.tariff_version}) for ${period(result.period)}: `,
      h("strong", { class: "amount fs-5", id: "preview-total", text: rupees(result.total) })),
    priced.subsidy_total !== "0.00"
      ? h("p", { class: "small", id: "preview-gross" }, `Gross ${rupees(priced.gross_total)}, subsidy ${rupees(priced.subsidy_total)}, net ${rupees(priced.total)}.`) : null,
    net ? h("p", { class: "small", id: "preview-net-metering" }, `Net metering: ${net.import_units} kWh in − ${net.export_units} kWh out; ${net.banked_used} banked kWh used, ${net.banked_out} kWh banked after, ${net.settled_units} kWh settled; ${priced.units} kWh billed.`) : null,
    table([
      { label: "Charge", cell: (l) => l.label },
      { label: "Quantity", cell: lineQuantity, numeric: true },
      { label: "Rate", cell: lineRate, numeric: true },
      { label: "Amount", cell: (l) => rupees(l.amount), numeric: true },
    ], lines, { caption: "Preview line items" }),
  );
  setBusy(previewForm, false);
});

if (!form.elements.effective_from.value) {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Kolkata" }).format(new Date());
  form.elements.effective_from.value = today;
}
addRow("energy", { from_units: 0, to_units: null });
addRow("load", { from_kw: "0", to_kw: null, rate_per_kw: "0" });
// Categories are data: the selects list what the API has (admins add more).
try {
  const categories = await get("/tariff-categories");
  for (const select of document.querySelectorAll("select[data-categories]")) {
    const chosen = select.value;
    select.replaceChildren(...categories.map((c) => h("option", { value: c.name, text: c.label })));
    select.value = categories.some((c) => c.name === chosen) ? chosen : categories[0].name;
  }
} catch (error) {
  notify(`Categories could not be loaded: ${error.message}`, "warning");
}

await loadList();
