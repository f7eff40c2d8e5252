// Small DOM helpers shared by every page. Text from the API is only ever put
// into the page as text (textContent, text nodes), never parsed as HTML.

import { ApiError, api, get, loginUrl, session, siteUrl } from "./api.js";
import { dateIST, label } from "./format.js";
import { LANG, t } from "./i18n.js";

// ---------------------------------------------------------------- elements

/** h("a", {class: "btn", href: "x.html", text: "Go"}, child, ...) */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = String(value);
    else if (key === "on") for (const [event, fn] of Object.entries(value)) element.addEventListener(event, fn);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

/** Replace a region's content and mark it loaded. */
export function fill(region, ...children) {
  const target = typeof region === "string" ? document.getElementById(region) : region;
  target.replaceChildren();
  append(target, children);
  target.setAttribute("aria-busy", "false");
  return target;
}

export function loading(text = t("Loading")) {
  return h("div", { class: "d-flex align-items-center gap-2 text-body-secondary py-3", role: "status" },
    h("span", { class: "spinner-border spinner-border-sm", "aria-hidden": "true" }), h("span", { text: `${text}…` }));
}

export function showLoading(region, text) {
  const target = typeof region === "string" ? document.getElementById(region) : region;
  target.setAttribute("aria-busy", "true");
  target.replaceChildren(loading(text));
}

export function emptyState(message, ...actions) {
  return h("div", { class: "empty-state text-center text-body-secondary py-4 px-3 border rounded-3 bg-body-tertiary" },
    h("p", { class: "mb-2", text: message }), actions.length ? h("div", {}, ...actions) : null);
}

export function errorState(error) {
  return h("div", { class: "alert alert-danger", role: "alert" }, errorMessage(error));
}

export function errorMessage(error) {
  if (!(error instanceof ApiError)) return t("Something went wrong. Please reload the page.");
  const details = error.body && error.body.details;
  // A wrong one-time code says how many tries are left.
  if (details && !Array.isArray(details) && typeof details.tries_left === "number") {
    return `${error.message} ${details.tries_left} ${details.tries_left === 1 ? "try" : "tries"} left.`;
  }
  return error.message;
}

const STATUS_STYLES = {
  paid: "success", verified: "success", active: "success", completed: "success", closed: "secondary",
  resolved: "success", accepted: "success", succeeded: "success", issued: "primary", open: "primary",
  running: "info", in_progress: "info", invited: "info", pending_review: "warning", pending_email: "secondary",
  pending_mobile: "secondary", overdue: "danger", rejected: "danger", suspended: "danger", failed: "danger",
  held: "warning", no_response: "warning", estimated: "warning", cancelled: "secondary", ended: "secondary",
  inactive: "secondary", deactivated: "secondary", not_assigned: "secondary", pending: "warning",
};

// What a customer reads on a badge, in the page's language (other statuses: "In progress").
const STATUS_TEXT = {
  paid: t("Paid"), issued: t("Issued"), overdue: t("Overdue"), estimated: t("Estimated"),
  open: t("Open"), in_progress: t("In progress"), completed: t("Completed"), pending: t("Pending"),
  captured: t("Captured"), verified: t("Verified"), active: t("Active"), failed: t("Failed"),
};

export function badge(status, text) {
  const style = STATUS_STYLES[status] || "secondary";
  const dark = ["warning", "info", "light"].includes(style);
  return h("span", { class: `badge rounded-pill text-bg-${style}${dark ? "" : ""}`, text: text || STATUS_TEXT[status] || label(status) });
}

/**
 * A table. columns: [{label, cell: row => Node|string, class?, numeric?}].
 * caption is read by screen readers (visually hidden unless showCaption).
 * stack: on a phone each row becomes a card of "label: value" lines (portal.css
 * .table-stack) instead of columns cut off at the screen's edge.
 */
export function table(columns, rows, { caption, showCaption = false, rowAttrs, stack = false } = {}) {
  const head = h("thead", {}, h("tr", {}, columns.map((col) =>
    h("th", { scope: "col", class: col.numeric ? "text-end" : col.class, text: col.label }))));
  const body = h("tbody", {}, rows.map((row) => h("tr", rowAttrs ? rowAttrs(row) : {}, columns.map((col) =>
    h("td", { class: col.numeric ? "text-end text-nowrap" : col.class, "data-label": stack ? col.label : null }, col.cell(row))))));
  return h("div", { class: "table-responsive" },
    h("table", { class: `table table-hover align-middle${stack ? " table-stack" : ""}` },
      caption ? h("caption", { class: showCaption ? "caption-top" : "visually-hidden", text: caption }) : null,
      head, body));
}

export function link(path, text, cls) {
  return h("a", { href: siteUrl(path), class: cls, text });
}

export function param(name) {
  return new URLSearchParams(location.search).get(name);
}

/** A definition list of [term, value] pairs. */
export function facts(pairs, cls = "row mb-0") {
  const wide = cls.includes("facts-wide");  // a narrow card: terms get half the width
  return h("dl", { class: cls }, pairs.filter(Boolean).map(([term, value]) => [
    h("dt", { class: `${wide ? "col-6" : "col-sm-5 col-lg-4"} text-body-secondary fw-normal`, text: term }),
    h("dd", { class: wide ? "col-6" : "col-sm-7 col-lg-8" }, value ?? "—"),
  ]));
}

// ---------------------------------------------------------------- paged lists

const listLoads = new WeakMap();  // region -> number of its newest load: older answers are dropped

/**
 * A list read a page at a time: the first page, then a "More …" button that reads on
 * from the API's cursor (gone when the cursor is null; disabled and busy while it reads).
 * Calling it again for a region starts that list over (a new filter, a reload after an
 * action) and wins over a load of it still under way. Never rejects: errors are shown.
 *
 * Rows: `path` + `query` (+ `pageSize` as limit) answering {[itemsKey]: [...], cursor},
 * or `fetchPage(cursor)` resolving to {rows, cursor}. `alongside()`: what else the list
 * needs (addresses, say), read in parallel with the first page and awaited before it shows.
 * Layout: a table of `columns` (`caption`, `stack`), `empty` when nothing came at all and
 * `emptyMore` when a page came empty with more to read; or `render(rows, cursor)`.
 */
export async function pagedTable(region, {
  path, query = {}, itemsKey, pageSize, fetchPage, alongside,
  columns, caption, stack = false, render,
  empty = "Nothing here yet.", emptyMore = "None so far.",
  moreLabel = "More", moreClass = "btn btn-outline-secondary mt-2", loadingText,
}) {
  const target = typeof region === "string" ? document.getElementById(region) : region;
  const load = (listLoads.get(target) || 0) + 1;
  listLoads.set(target, load);
  const current = () => listLoads.get(target) === load;
  const readPage = fetchPage || (async (cursor) => {
    const page = await get(path, { ...query, ...(pageSize ? { limit: pageSize } : {}), ...(cursor ? { cursor } : {}) });
    return { rows: page[itemsKey], cursor: page.cursor };
  });
  let rows = [];
  let cursor = null;

  const busy = (button, on) => {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
    button.querySelector(".spinner-border").classList.toggle("d-none", !on);
    target.setAttribute("aria-busy", on ? "true" : "false");
  };

  async function readOn(button) {
    busy(button, true);
    try {
      const page = await readPage(cursor);
      if (!current()) return;
      rows = rows.concat(page.rows);
      cursor = page.cursor;
      show();
      // The pressed button is gone with the old content: a keyboard user goes on from
      // the new one, or from the list when it has ended.
      if (document.activeElement === document.body || !document.activeElement) {
        const next = target.querySelector("[data-list-more]");
        if (!next) target.setAttribute("tabindex", "-1");
        (next || target).focus();
      }
    } catch (error) {
      if (!current()) return;
      if (!(error instanceof ApiError)) console.error(error);
      busy(button, false);
      target.querySelector("[data-list-error]")?.remove();
      button.before(h("div", { "data-list-error": "" }, errorState(error)));
    }
  }

  function show() {
    const more = cursor
      ? h("button", { type: "button", class: moreClass, "data-list-more": "", on: { click: (event) => readOn(event.currentTarget) } },
        h("span", { class: "spinner-border spinner-border-sm me-1 d-none", "aria-hidden": "true" }), moreLabel)
      : null;
    const content = render ? render(rows, cursor)
      : rows.length ? table(columns, rows, { caption, stack }) : emptyState(cursor ? emptyMore : empty);
    fill(target, content, more);
  }

  showLoading(target, loadingText);
  try {
    const [first] = await Promise.all([readPage(null), alongside && alongside()]);
    if (!current()) return;
    rows = first.rows;
    cursor = first.cursor;
    show();
  } catch (error) {
    if (current()) fill(target, errorState(error));
  }
}

// ---------------------------------------------------------------- messages

/** A dismissible message at the top of the page, announced to screen readers. */
export function notify(message, kind = "success") {
  const region = document.getElementById("page-alerts");
  const close = h("button", { type: "button", class: "btn-close", "aria-label": t("Dismiss") });
  const alert = h("div", { class: `alert alert-${kind} alert-dismissible`, role: kind === "danger" ? "alert" : "status" },
    h("span", { text: message }), close);
  close.addEventListener("click", () => alert.remove());
  region.replaceChildren(alert);
  return alert;
}

// ---------------------------------------------------------------- forms

/** The form's named fields as an object: text trimmed, checkboxes as booleans, empty optional fields left out. */
export function values(form) {
  const result = {};
  for (const element of form.elements) {
    if (!element.name || element.disabled) continue;
    if (element.type === "checkbox") result[element.name] = element.checked;
    else if (element.type === "radio") {
      if (element.checked) result[element.name] = element.value;
    } else if (element.type === "number") {
      // Number inputs hold whole numbers (units, days, Wh) and go out as JSON
      // numbers; amounts and rates are text inputs and go out as exact strings.
      if (element.value !== "") result[element.name] = Number.isNaN(element.valueAsNumber) ? element.value : element.valueAsNumber;
    } else if (element.type === "password") {
      if (element.value !== "") result[element.name] = element.value;
    } else {
      const value = element.value.trim();
      if (value !== "" || element.required) result[element.name] = value;
    }
  }
  return result;
}

function fieldFor(form, name) {
  if (!name) return null;
  const direct = form.elements.namedItem(name);
  if (direct) return direct instanceof RadioNodeList ? direct[0] : direct;
  const byData = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (byData) return byData;
  // "slabs.0.rate" -> the first part, "body.email" -> "email"
  const parts = name.split(".");
  for (const candidate of [parts[parts.length - 1], parts[0]]) {
    const element = form.elements.namedItem(candidate);
    if (element) return element instanceof RadioNodeList ? element[0] : element;
  }
  return null;
}

function errorSlot(form, element) {
  const id = `${element.id}-error`;
  let slot = element.id ? document.getElementById(id) : null;
  if (!slot) {
    slot = h("div", { id, class: "invalid-feedback" });
    element.insertAdjacentElement("afterend", slot);
    const described = element.getAttribute("aria-describedby");
    element.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
  }
  return slot;
}

export function clearErrors(form) {
  for (const element of form.querySelectorAll(".is-invalid")) {
    element.classList.remove("is-invalid");
    element.removeAttribute("aria-invalid");
  }
  for (const slot of form.querySelectorAll(".invalid-feedback")) slot.textContent = "";
  const alert = form.querySelector("[data-form-alert]");
  if (alert) alert.replaceChildren();
}

/** Put each message next to its field; the rest (and the summary) in the form's alert box. */
export function showErrors(form, error) {
  clearErrors(form);
  const leftovers = [];
  let first = null;
  const details = (error instanceof ApiError ? error.details : []).map((detail) => ({
    field: detail.field,
    // pydantic prefixes messages of custom checks; people need only the sentence.
    message: String(detail.message || "").replace(/^(Value error|Assertion failed), /, ""),
  }));
  for (const detail of details) {
    const element = fieldFor(form, detail.field);
    if (element && element.type !== "hidden") {
      element.classList.add("is-invalid");
      element.setAttribute("aria-invalid", "true");
      const slot = errorSlot(form, element);
      slot.textContent = slot.textContent ? `${slot.textContent} ${detail.message}` : detail.message;
      first = first || element;
    } else {
      leftovers.push(detail.field && detail.field !== "body" ? `${detail.field}: ${detail.message}` : detail.message);
    }
  }
  const alert = form.querySelector("[data-form-alert]");
  const summary = errorMessage(error);
  if (alert) {
    alert.replaceChildren(h("div", { class: "alert alert-danger mb-3" },
      h("div", { text: summary }),
      leftovers.length ? h("ul", { class: "mb-0 mt-1" }, leftovers.map((text) => h("li", { text }))) : null));
  } else {
    notify([summary, ...leftovers].join(" "), "danger");
  }
  (first || alert || form).focus?.();
  return first;
}

/** The browser's own checks (required, pattern, type) shown in the same places as the API's. */
function clientErrors(form) {
  const details = [];
  for (const element of form.elements) {
    if (element.name && element.willValidate && !element.checkValidity()) {
      details.push({ field: element.name, message: element.validationMessage });
    }
  }
  return details;
}

export function setBusy(form, busy) {
  for (const button of form.querySelectorAll("button[type=submit]")) {
    button.disabled = busy;
    const spinner = button.querySelector(".spinner-border");
    if (spinner) spinner.classList.toggle("d-none", !busy);
  }
  form.setAttribute("aria-busy", busy ? "true" : "false");
}

/**
 * Handle a form's submit: client-side checks, a busy button, then
 * `handler(values, form)`. API errors are shown next to the fields.
 */
export function onSubmit(form, handler) {
  form.noValidate = true;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const problems = clientErrors(form);
    if (problems.length) {
      showErrors(form, new ApiError(400, { message: "Please correct the highlighted fields.", details: problems }, ""));
      return;
    }
    setBusy(form, true);
    try {
      await handler(values(form), form);
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      showErrors(form, error);
    } finally {
      setBusy(form, false);
    }
  });
}

/** A button that runs an async action, with busy state and errors in the page alert. */
export function action(button, handler) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await handler();
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      notify(errorMessage(error), "danger");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

// ---------------------------------------------------------------- session

export const HOME = { customer: "dashboard.html", admin: "admin/index.html" };

export function homeFor(me) {
  return HOME[me && me.role] || "dashboard.html";
}

export async function loadMe() {
  const me = await api("/me");
  session.remember(me);
  return me;
}

export async function logout() {
  try {
    await api("/auth/logout", { method: "POST", body: {} });
  } catch {
    // Signing out locally is what matters; the server session expires anyway.
  }
  session.clear();
  location.assign(siteUrl("login.html?signed_out=1"));
}

function showNav(me) {
  const role = me ? me.role : null;
  for (const list of $$("[data-nav]")) {
    const which = list.dataset.nav;
    list.hidden = !((which === "signed-out" && !role) || (which === "signed-in" && role) || which === role);
  }
  if (me) for (const slot of $$("[data-me=name]")) slot.textContent = me.name || "Profile";
  const brand = $(".navbar-brand");
  if (brand && role) brand.setAttribute("href", siteUrl(homeFor(me)));
}

function denied(me, area) {
  const main = document.getElementById("main");
  const alerts = document.getElementById("page-alerts");
  main.replaceChildren(alerts, h("div", { class: "py-5 text-center" },
    h("h1", { class: "h3", text: area === "admin" ? t("This page is for administrators") : t("This page is for customers") }),
    h("p", { class: "text-body-secondary", text: t("You are signed in with an account that cannot use it.") }),
    link(homeFor(me), t("Go to your home page"), "btn btn-primary")));
}

// ---------------------------------------------------------------- dates

// A native date field may show 12/07/2026 (the browser's order): every date input gets
// the day spelled out beside it ("7 Dec 2026", month in the page's language), also
// for fields a script adds later.
function spellOut(input) {
  if (input.dataset.spelled) return;
  input.dataset.spelled = "1";
  const id = `${input.id || `date-${Math.random().toString(36).slice(2, 8)}`}-spelled`;
  const note = h("div", { class: "form-text date-spelled", id, "data-date-spelled": "" });
  const show = () => { note.textContent = input.value ? dateIST(input.value) : ""; };
  const group = input.closest(".input-group");
  (group || input).insertAdjacentElement("afterend", note);
  const described = input.getAttribute("aria-describedby");
  input.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
  input.addEventListener("input", show);
  input.addEventListener("change", show);
  input.form?.addEventListener("reset", () => setTimeout(show));
  // A script that sets .value (a form filled from the API) updates the note too.
  const native = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value");
  Object.defineProperty(input, "value", {
    configurable: true,
    get() { return native.get.call(this); },
    set(value) { native.set.call(this, value); show(); },
  });
  show();
}

function spellOutDates() {
  for (const input of $$("input[type=date]")) spellOut(input);
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        if (!(node instanceof Element)) continue;
        if (node.matches("input[type=date]")) spellOut(node);
        for (const input of node.querySelectorAll("input[type=date]")) spellOut(input);
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
}

// ---------------------------------------------------------------- language

/** This page in another language (the switch's link), with this page's query and fragment. */
function inLanguage(code) {
  const anchor = $(`.lang-switch a[data-lang="${CSS.escape(code)}"]`);
  return anchor ? anchor.getAttribute("href") + location.search + location.hash : null;
}

// The switch keeps the page's query (bill.html?id=...) and, signed in, stores the
// choice in the profile, so emails, SMS and every later visit follow it.
function wireLanguageSwitch() {
  for (const anchor of $$(".lang-switch a[data-lang]")) {
    anchor.addEventListener("click", async (event) => {
      event.preventDefault();
      const code = anchor.dataset.lang;
      if (session.token()) {
        try {
          session.remember(await api("/me/language", { method: "PUT", body: { language: code } }));
        } catch {
          // The page still changes language; the profile keeps the old one.
          const me = session.me();
          if (me) session.remember({ ...me, language: code });
        }
      }
      location.assign(inLanguage(code));
    });
  }
}

/** Never resolves: used after a redirect has started. */
const halt = () => new Promise(() => {});

/**
 * Start a page: wire the navigation, and for pages behind sign-in make sure
 * there is a session with the right role. Resolves to the signed-in user
 * (or null on a public page).
 */
export async function boot(area) {
  for (const button of $$("[data-action=logout]")) button.addEventListener("click", logout);
  window.addEventListener("unhandledrejection", () => notify(t("Something went wrong. Please reload the page."), "danger"));
  wireLanguageSwitch();
  spellOutDates();
  if (area === "public") {
    showNav(session.token() ? session.me() : null);
    return session.token() ? session.me() : null;
  }
  if (!session.token()) {
    location.replace(loginUrl());
    return halt();
  }
  showNav(session.me());
  let me = session.me();
  if (!me) {
    try {
      me = await loadMe();
    } catch (error) {
      notify(errorMessage(error), "danger");
      return halt();
    }
  }
  showNav(me);
  if (me.language && me.language !== LANG && inLanguage(me.language)) {
    // The profile's language wins: the same page in it.
    location.replace(inLanguage(me.language));
    return halt();
  }
  if ((area === "admin" || area === "customer") && me.role !== area) {
    denied(me, area);
    return halt();
  }
  return me;
}

/**
 * A destructive action with an inline confirmation (no window.confirm):
 * returns a container holding the button; clicking it asks the question with
 * "confirm" and "keep" buttons next to it.
 */
export function confirmButton(text, question, confirmText, handler, cls = "btn btn-outline-danger") {
  const box = h("div", { class: "d-inline-flex flex-wrap align-items-center gap-2" });
  const start = h("button", { type: "button", class: cls, text });
  const show = (asking) => {
    box.replaceChildren();
    if (!asking) {
      box.append(start);
      return;
    }
    const yes = h("button", { type: "button", class: "btn btn-danger", text: confirmText });
    const no = h("button", { type: "button", class: "btn btn-outline-secondary", text: t("Keep") });
    no.addEventListener("click", () => {
      show(false);
      start.focus();
    });
    action(yes, handler);
    box.append(h("span", { class: "fw-semibold", text: question }), yes, no);
    yes.focus();
  };
  start.addEventListener("click", () => show(true));
  show(false);
  return box;
}
