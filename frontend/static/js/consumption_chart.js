// The customer's daily consumption chart (issue 24 item 1): kWh per day imported, and
// exported where the meter has rooftop solar, for four views (last 30 and 90 days, this
// month so far, the same month last year). Each view asks GET /meters/{id}/days for its
// own range of IST days only. The bars are plain elements (no canvas): the same figures
// are in a table under them for screen readers and for people who prefer numbers.
import { get } from "./api.js";
import { h, fill, table, emptyState, errorState, showLoading } from "./ui.js";
import { dateIST, period, units, TIME_ZONE } from "./format.js";
import { t } from "./i18n.js";

const isoDay = new Intl.DateTimeFormat("en-CA", { timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit" });

export function todayIST() {
  return isoDay.format(new Date());
}

function addDays(day, count) {
  const moment = new Date(`${day}T00:00:00Z`);
  moment.setUTCDate(moment.getUTCDate() + count);
  return moment.toISOString().slice(0, 10);
}

function lastOfMonth(first) {
  const moment = new Date(Date.UTC(Number(first.slice(0, 4)), Number(first.slice(5, 7)), 0));
  return moment.toISOString().slice(0, 10);
}

const VIEWS = [
  { key: "30", label: t("Last 30 days"), range: (today) => [addDays(today, -29), today] },
  { key: "90", label: t("Last 90 days"), range: (today) => [addDays(today, -89), today] },
  { key: "month", label: t("This month so far"), range: (today) => [`${today.slice(0, 8)}01`, today] },
  {
    key: "last-year", label: t("Same month last year"), month: true,
    range: (today) => {
      const first = `${Number(today.slice(0, 4)) - 1}-${today.slice(5, 8)}01`;
      return [first, lastOfMonth(first)];
    },
  },
];

// "4.500" -> 4500n: kWh with three places summed exactly, as watt-hours.
function wh(kwh) {
  const match = /^(\d+)(?:\.(\d{1,3}))?$/.exec(kwh || "");
  return match ? BigInt(match[1]) * 1000n + BigInt((match[2] || "0").padEnd(3, "0")) : 0n;
}

function kwh(total) {
  return `${total / 1000n}.${String(total % 1000n).padStart(3, "0")}`;
}

function bars(days, first, last) {
  const biggest = Math.max(0.001, ...days.flatMap((d) => [Number(d.import_kwh || 0), Number(d.export_kwh || 0)]));
  const solar = days.some((d) => Number(d.export_kwh || 0) > 0);
  const points = days.map((d) => {
    const used = h("span", { class: "consumption-bar consumption-import" });
    used.style.height = `${(Number(d.import_kwh || 0) / biggest) * 100}%`;  // CSSOM: the CSP allows no inline styles
    const point = h("div", { class: "consumption-point", title: solar
      ? t("{day}: {used} used, {exported} exported", { day: dateIST(d.day), used: units(d.import_kwh), exported: units(d.export_kwh) })
      : t("{day}: {used} used", { day: dateIST(d.day), used: units(d.import_kwh) }) }, used);
    if (solar) {
      const out = h("span", { class: "consumption-bar consumption-export" });
      out.style.height = `${(Number(d.export_kwh || 0) / biggest) * 100}%`;
      point.append(out);
    }
    return point;
  });
  return [
    h("div", { class: "consumption-chart", role: "img", "aria-label": t("Daily consumption in kWh from {first} to {last}; the table below has each day's figures.", { first: dateIST(first), last: dateIST(last) }) },
      h("span", { class: "consumption-max small text-body-secondary", "aria-hidden": "true", text: units(biggest.toFixed(1)) }), points),
    h("div", { class: "d-flex justify-content-between small text-body-secondary", "aria-hidden": "true" },
      h("span", { text: dateIST(days[0].day) }), h("span", { text: dateIST(days[days.length - 1].day) })),
    h("p", { class: "small mb-2", "aria-hidden": "true" },
      h("span", { class: "consumption-key consumption-import" }), t("Used (import)"),
      solar ? [" ", h("span", { class: "consumption-key consumption-export ms-2" }), t("Exported (solar)")] : null),
  ];
}

// "4.500" -> "4.5": formatted from the decimal string itself, as amounts are.
const kwhNumber = new Intl.NumberFormat("en-IN", { maximumFractionDigits: 3 });
function figure(kwhText) {
  return kwhText === null || kwhText === undefined ? t("not known") : kwhNumber.format(kwhText);
}

function dayTable(days) {
  const solar = days.some((d) => d.export_kwh !== null && Number(d.export_kwh) > 0);
  return h("details", {}, h("summary", { text: t("Show as a table") }), table([
    { label: t("Day"), cell: (d) => dateIST(d.day) },
    { label: t("Used (kWh)"), cell: (d) => figure(d.import_kwh), numeric: true },
    solar ? { label: t("Exported (kWh)"), cell: (d) => figure(d.export_kwh), numeric: true } : null,
  ].filter(Boolean), days, { caption: t("Consumption per day") }));
}

function render(view, answer) {
  const [first, last] = [answer.from_day, answer.to_day];
  const days = answer.days;
  if (!days.length) {
    return emptyState(view.month ? t("No data for {month}.", { month: period(first) })
      : t("No daily reads in these days yet: the meter is read once a day, after midnight."));
  }
  const used = days.reduce((sum, d) => sum + wh(d.import_kwh), 0n);
  const exported = days.reduce((sum, d) => sum + wh(d.export_kwh), 0n);
  const summary = exported > 0n
    ? t("{first} to {last}: {used} used, {exported} exported", { first: dateIST(first), last: dateIST(last), used: units(kwh(used)), exported: units(kwh(exported)) })
    : t("{first} to {last}: {used} used", { first: dateIST(first), last: dateIST(last), used: units(kwh(used)) });
  return [h("p", { class: "mb-2 consumption-summary", text: summary }), bars(days, first, last), dayTable(days)];
}

/**
 * The chart's card for a meter. `onFirstLoad(days)` is called with the first view's
 * days (the property page leaves the card hidden for a meter without daily reads).
 */
export function consumptionChart(meterId, { onFirstLoad } = {}) {
  const region = h("div", { id: "consumption-view", "aria-live": "polite" });
  const answers = new Map();
  const buttons = VIEWS.map((view) => h("button", {
    type: "button", class: "btn btn-sm btn-outline-primary", "data-view": view.key, "aria-pressed": "false", text: view.label,
    on: { click: () => show(view) },
  }));
  const today = todayIST();

  async function show(view) {
    for (const button of buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.view === view.key));
      button.classList.toggle("active", button.dataset.view === view.key);
    }
    region.dataset.view = view.key;
    try {
      if (!answers.has(view.key)) {
        showLoading(region);
        const [first, last] = view.range(today);
        answers.set(view.key, await get(`/meters/${encodeURIComponent(meterId)}/days?from=${first}&to=${last}`));
      }
      if (region.dataset.view !== view.key) return;  // another view was chosen meanwhile
      fill(region, render(view, answers.get(view.key)));
      region.dataset.loaded = view.key;
    } catch (error) {
      fill(region, errorState(error));
    }
    return answers.get(view.key);
  }

  const card = h("section", { class: "card mb-4", id: "consumption", "aria-labelledby": "consumption-title" },
    h("div", { class: "card-body" },
      h("h2", { class: "h5", id: "consumption-title", text: t("Daily consumption") }),
      h("div", { class: "d-flex flex-wrap gap-1 mb-3", role: "group", "aria-label": t("Days shown") }, buttons),
      region));
  show(VIEWS[0]).then((answer) => onFirstLoad?.(answer ? answer.days : []));
  return card;
}
