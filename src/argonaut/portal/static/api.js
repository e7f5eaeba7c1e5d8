// The portal's one door to the server: the REST API, with the login session's cookie and CSRF header.
// Every failure becomes an ApiFailure carrying the server's own ErrorMessage and Errors, so forms can
// show them where they belong; a 401 sends the user back to the login page.

export class ApiFailure extends Error {
  constructor(status, message, errors) {
    super(message);
    this.status = status;
    this.errors = errors || [];
  }
}

function cookie(name) {
  const hit = document.cookie.split('; ').find((c) => c.startsWith(name + '='));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : '';
}

let onUnauthorized = () => {};
export function whenUnauthorized(handler) { onUnauthorized = handler; }

export async function request(method, path, body, { raw = false, signal } = {}) {
  const headers = { Accept: raw ? '*/*' : 'application/json' };
  if (method !== 'GET') headers['X-Octopus-Csrf-Token'] = cookie('Octopus-Csrf-Token');
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: 'same-origin', signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiFailure(0, 'The server cannot be reached: ' + e.message, []);
  }
  if (response.status === 401 && !path.endsWith('/users/login')) onUnauthorized();
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    let errors = [];
    try {
      const data = await response.json();
      message = data.ErrorMessage || message;
      errors = data.Errors || [];
    } catch (_) { /* not JSON: keep the status line */ }
    throw new ApiFailure(response.status, message, errors);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body) => request('POST', path, body === undefined ? {} : body);
export const put = (path, body) => request('PUT', path, body);
export const del = (path) => request('DELETE', path);

// Reads an NDJSON stream (a task's log as it happens), calling onItem for each parsed line.
export async function streamLines(path, onItem, signal) {
  const response = await request('GET', path, undefined, { raw: true, signal });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, cut).trim();
      buffer = buffer.slice(cut + 1);
      if (line) onItem(JSON.parse(line));
    }
  }
  if (buffer.trim()) onItem(JSON.parse(buffer));
}

export function query(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  return parts.length ? '?' + parts.join('&') : '';
}
