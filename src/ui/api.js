// The console's one way to the gateway: the management API (and /function/NAME for invoke), with
// the session cookie the browser sends by itself and the CSRF token kept in this module only
// (never in the DOM or storage).
let csrf = null;

export const setCsrf = (token) => { csrf = token; };
export const signedIn = () => csrf !== null;

// fetch with the session: X-CSRF-Token on every method. json: a value sent as a JSON body.
// redirect: 'manual' for a function's answer (invoke): its redirect is shown, never followed with
// the session and the CSRF token (the gateway drops Location there too).
export function api(path, { method = 'GET', json, body, headers = {}, signal, redirect = 'follow' } = {}) {
  const h = { 'X-CSRF-Token': csrf ?? '', ...headers };
  if (json !== undefined) h['Content-Type'] = 'application/json';
  return fetch(path, { method, credentials: 'same-origin', headers: h, body: json !== undefined ? JSON.stringify(json) : body, signal, redirect });
}

// The JSON answer, or an Error with the API's message (its error catalog's text) and status.
export async function apiJson(path, options) {
  const r = await api(path, options);
  if (r.ok) return r.json();
  const e = new Error(await errorOf(r));
  e.status = r.status;
  throw e;
}

export async function errorOf(r) {
  try { return (await r.json()).error.message; } catch { return `HTTP ${r.status}`; }
}

// A DOM element: el('td', {class: 'num'}, 'text', child...). Text is always text, never HTML.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}

// The page's one message line: an error, or (ok) news of something done, such as a deletion.
export const say = (text, ok = false) => {
  const s = document.getElementById('status');
  s.textContent = text;
  s.classList.toggle('ok', ok);
};

// Figures as people read them.
export const fmtSeconds = (s) => (s === null || s === undefined ? '—' : s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`);
export const fmtBytes = (b) => (b === null || b === undefined ? '—' : `${(b / 1048576).toFixed(1)} MiB`);
export const fmtByteSeconds = (b) => (b === null || b === undefined ? '—' : `${(b / 1048576).toFixed(2)} MiB·s`);
export const fmtCount = (n) => (n === null || n === undefined ? '—' : String(n));
