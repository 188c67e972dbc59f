// The page's only way to the REST API: JSON in and out, the writer's token on POSTs, and errors
// that keep the API's own words (a 422's per-field list, a 401's reason).

const TOKEN_KEY = "gmopt-token";

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.detail !== undefined ? body.detail : body;
    super(body && body.message ? body.message : typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value); else localStorage.removeItem(TOKEN_KEY);
}

async function request(method, url, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let data = text;
  try { data = text ? JSON.parse(text) : null; } catch { /* a plain-text error */ }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (url) => request("GET", url);
export const post = (url, body = {}) => request("POST", url, body);

// Every page of a paginated list ({data, count}) from ``skip`` on.
export async function getAll(url, skip = 0, limit = 1000) {
  const rows = [];
  const separator = url.includes("?") ? "&" : "?";
  for (;;) {
    const page = await get(`${url}${separator}skip=${skip + rows.length}&limit=${limit}`);
    rows.push(...page.data);
    if (page.data.length < limit || skip + rows.length >= page.count) return rows;
  }
}

let options = null;
// The run form's defaults, the topologies and the service's limits (GET /run-options), read once.
export function runOptions() {
  options = options || get("/run-options");
  return options;
}

// What a write was refused for, shown where the user can act on it: 401/403 beside the token field.
export function authProblem(error) {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}
