// The admin API, with the key kept in this tab's sessionStorage and sent as a Bearer token.

const BASE = "/v1/admin";
const KEY = "skinkb.key";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
  // Field errors as [path within the document, message]; "body" and the like dropped.
  fieldErrors() {
    return (this.problem.errors || []).map((e) => [
      (e.loc || []).filter((p, i) => !(i === 0 && (p === "body" || p === "query" || p === "header"))),
      e.msg,
    ]);
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
  me: null,
  collections: [],
};

export function can(role) {
  const rank = { editor: 1, publisher: 2, admin: 3 };
  return session.me !== null && rank[session.me.role] >= rank[role];
}

export async function call(method, path, { body, version, idempotent } = {}) {
  const headers = { Accept: "application/json" };
  if (session.key) headers.Authorization = `Bearer ${session.key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (version !== undefined) headers["If-Match"] = `"${version}"`;
  if (idempotent) headers["Idempotency-Key"] = crypto.randomUUID();
  const url = path.startsWith("/") ? path : `${BASE}/${path}`;
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data || { title: response.statusText });
  return data;
}

export const get = (path) => call("GET", path);

// Every item of a paged admin list, following `next`.
export async function all(path) {
  const items = [];
  let url = `${BASE}/${path}${path.includes("?") ? "&" : "?"}limit=100`;
  while (url) {
    const page = await call("GET", url.replace(/^https?:\/\/[^/]+/, ""));
    items.push(...page.items);
    url = page.next;
  }
  return items;
}
