// The one way the portal talks to the API: a fetch wrapper that adds the
// bearer token, sends and reads JSON, and turns error answers into ApiError
// (with the API's field messages, `details: [{field, message}]`).

const TOKEN_KEY = "iotbill.token";
const ME_KEY = "iotbill.me";

function meta(name) {
  const element = document.querySelector(`meta[name="${name}"]`);
  return element ? element.content : "";
}

export const API_BASE = meta("api-base").replace(/\/+$/, "");
export const SITE_ROOT = meta("site-root");

export class ApiError extends Error {
  constructor(status, body, fallback) {
    super((body && typeof body.message === "string" && body.message) || fallback);
    this.name = "ApiError";
    this.status = status;
    this.code = body && body.error;
    this.details = body && Array.isArray(body.details) ? body.details : [];
    this.body = body;
  }
}

// The session lives in sessionStorage: it ends with the tab, and no other
// site can read it. The API still decides everything; this is only a cache.
export const session = {
  token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  me() {
    try {
      return JSON.parse(sessionStorage.getItem(ME_KEY) || "null");
    } catch {
      return null;
    }
  },
  start(token, me) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (me) this.remember(me);
  },
  remember(me) {
    sessionStorage.setItem(ME_KEY, JSON.stringify(me));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ME_KEY);
  },
};

export function siteUrl(path) {
  return SITE_ROOT + path.replace(/^\/+/, "");
}

// This page's path relative to the site root, e.g. "admin/run.html?id=r1".
export function currentPage() {
  const depth = (SITE_ROOT.match(/\.\.\//g) || []).length;
  return location.pathname.split("/").slice(-(depth + 1)).join("/") + location.search;
}

export function loginUrl() {
  return siteUrl(`login.html?next=${encodeURIComponent(currentPage())}`);
}

// Where to go after signing in: only a page of this site (no open redirect).
export function safeNext(next, fallback) {
  if (typeof next === "string" && /^[a-z0-9-]+(\/[a-z0-9-]+)?\.html(\?[\w=&%.-]*)?$/i.test(next)) {
    return siteUrl(next);
  }
  return siteUrl(fallback);
}

function queryString(query) {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

const FALLBACK_MESSAGES = {
  400: "Some of what you entered is not valid.",
  401: "Please sign in again.",
  403: "You do not have access to this.",
  404: "Not found.",
  409: "That conflicts with the current state; reload and try again.",
  413: "That is too large.",
  429: "Too many attempts. Please wait a moment and try again.",
};

/**
 * Call the API. Returns the parsed JSON (or text for non-JSON answers, or
 * null for an empty body); throws ApiError for any non-2xx answer.
 * options: method, body (sent as JSON), query (object), auth (default true),
 * accept (e.g. "text/csv").
 */
export async function api(path, options = {}) {
  const { method = "GET", body, query, auth = true, accept = "application/json" } = options;
  const headers = { Accept: accept };
  const token = session.token();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, mode: "cors", credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API_BASE + path + queryString(query), init);
  } catch {
    throw new ApiError(0, null, "The service cannot be reached. Check your connection and try again.");
  }
  const type = response.headers.get("Content-Type") || "";
  const text = await response.text();
  let data = null;
  if (text && type.includes("json")) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  } else if (text) {
    data = text;
  }
  if (response.status === 401 && auth && token) {
    // The session expired or was revoked: start again from the sign-in page.
    session.clear();
    location.assign(loginUrl());
  }
  if (!response.ok) {
    const fallback = FALLBACK_MESSAGES[response.status] || `Something went wrong (HTTP ${response.status}).`;
    const error = new ApiError(response.status, data && typeof data === "object" ? data : null, fallback);
    error.retryAfter = response.headers.get("Retry-After");
    throw error;
  }
  return data;
}

export const get = (path, query) => api(path, { query });
export const post = (path, body = {}) => api(path, { method: "POST", body });
export const put = (path, body = {}) => api(path, { method: "PUT", body });
export const patch = (path, body = {}) => api(path, { method: "PATCH", body });
export const del = (path) => api(path, { method: "DELETE" });

/**
 * A paged list (`{<key>: [...], cursor}`), followed page after page until `want` rows
 * came, the list ends, or `maxPages` were read (each request reads a bounded page; the
 * server's filters apply to what a page read, so a page may come short or empty).
 * Resolves to {rows, cursor}: cursor is where to go on (null: nothing more).
 */
export async function getPages(path, query, key, { want = 100, maxPages = 20, cursor = null } = {}) {
  let rows = [];
  let pages = 0;
  do {
    const page = await get(path, { ...query, limit: 500, ...(cursor ? { cursor } : {}) });
    rows = rows.concat(page[key]);
    cursor = page.cursor;
    pages += 1;
  } while (cursor && rows.length < want && pages < maxPages);
  return { rows, cursor };
}
