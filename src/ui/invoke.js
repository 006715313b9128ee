// Invoke, on a function's page: one call to /function/NAME[PATH] with the method, headers and
// body given, as any caller makes it (the session stands for its admin credential, so a
// function with auth= answers too), and what came back: status, headers, body, time taken.
import { api, el } from './api.js';
import { field, outcome, busy } from './form.js';

const METHODS = ['POST', 'GET', 'PUT', 'PATCH', 'DELETE'];
const SHOWN = 64 * 1024; // characters of a body shown: more would only slow the page

// "Name: value" lines into headers; a line without a name and ":" is the user's mistake.
export function headersOf(text) {
  const h = new Headers();
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const m = /^\s*([^:\s]+)\s*:\s?(.*)$/.exec(line);
    if (!m) throw new Error(`Header line ${i + 1}: expected Name: value`);
    try { h.append(m[1], m[2].trim()); } catch { throw new Error(`Header line ${i + 1}: ${JSON.stringify(m[1])} is not a header name`); }
  }
  return h;
}

// The body as text when it is UTF-8, else a note that it is binary (with its size).
function bodyText(bytes) {
  if (bytes.length === 0) return { text: '', note: 'empty body' };
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (!/[\u0000-\u0008\u000e-\u001f]/.test(text)) return { text: text.slice(0, SHOWN), note: `${bytes.length} bytes${text.length > SHOWN ? `, the first ${SHOWN} characters shown` : ''}` };
  } catch { /* not UTF-8: binary */ }
  return { text: null, note: `binary, ${bytes.length} bytes, not shown` };
}

function answer(r, bytes, ms) {
  const b = bodyText(bytes);
  const headers = [...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
  return [
    el('p', { class: 'answer-line' }, 'Status ', el('strong', { class: 'answer-status' }, `${r.status} ${r.statusText}`.trim()), ' in ', el('strong', { class: 'answer-time' }, `${ms.toFixed(1)} ms`)),
    el('h3', {}, 'Answer headers'), el('pre', { class: 'answer-headers', tabindex: '0' }, headers),
    el('h3', {}, `Answer body (${b.note})`), b.text === null ? null : el('pre', { class: 'answer-body', tabindex: '0' }, b.text),
  ];
}

export function mountInvoke(container, name) {
  const method = el('select', {}, METHODS.map((m) => el('option', { value: m }, m)));
  const path = el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: '/' });
  const headers = el('textarea', { rows: 3, spellcheck: 'false' });
  const body = el('textarea', { rows: 4, spellcheck: 'false' });
  const send = el('button', { type: 'submit' }, 'Send');
  const out = outcome();
  const form = el('form', { class: 'invoke', 'aria-label': `Invoke ${name}` },
    el('h2', {}, 'Invoke'),
    el('div', { class: 'bar' }, field('Method', method), field(`Path after /function/${name}`, path)),
    field('Headers', headers, 'One Name: value a line.'), field('Body', body), send, out.node);
  // No body with GET (fetch refuses one): the field says so rather than the call failing.
  const fit = () => { body.disabled = method.value === 'GET'; };
  method.addEventListener('change', fit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(send, out, async () => {
      const p = path.value.trim();
      const url = `/function/${encodeURIComponent(name)}${p && !/^[/?]/.test(p) ? '/' : ''}${p}`; // "x" is /x; "?q=1" a query
      const h = Object.fromEntries(headersOf(headers.value));
      const start = performance.now();
      const r = await api(url, { method: method.value, headers: h, body: method.value === 'GET' ? undefined : body.value, redirect: 'manual' });
      if (r.type === 'opaqueredirect') throw new Error('The function answered with a redirect; the console does not follow one (call it with faassctl invoke or curl to see where to)');
      const bytes = new Uint8Array(await r.arrayBuffer());
      out.ok(...answer(r, bytes, performance.now() - start));
    });
  });
  container.append(form);
}
