// Small pieces the console's forms share: a labelled field, and the place an action's answer (or
// its error, the API's own message) is shown next to the control that asked.
import { el, say } from './api.js';

let ids = 0;

// A label and its control, tied by a fresh id. control: an element from el().
export function field(label, control, hint) {
  control.id ||= `f${++ids}`;
  const parts = [el('label', { for: control.id }, label), control];
  if (hint) {
    const h = el('small', { id: `${control.id}-hint`, class: 'hint' }, hint);
    control.setAttribute('aria-describedby', h.id);
    parts.push(h);
  }
  return el('div', { class: 'field' }, parts);
}

// An answer area: ok() in a polite status region, fail() in an alert, each emptying the other.
export function outcome() {
  const ok = el('div', { role: 'status', class: 'ok' });
  const bad = el('p', { role: 'alert', class: 'error' });
  return {
    node: el('div', { class: 'outcome' }, ok, bad),
    ok(...content) { bad.replaceChildren(); ok.replaceChildren(...content); },
    fail(text) { ok.replaceChildren(); bad.replaceChildren(text); },
    clear() { ok.replaceChildren(); bad.replaceChildren(); },
  };
}

// Runs an action with its button disabled meanwhile; its error goes to out, with the API's
// message. A lost session (401) also takes the page back to the sign-in form (app.js, imported
// when needed: app.js imports the views that import this).
export async function busy(button, out, run) {
  button.disabled = true;
  out.clear();
  try {
    await run();
  } catch (e) {
    out.fail(e.message || String(e));
    if (e.status === 401) (await import('./app.js')).sessionLost();
  } finally {
    button.disabled = false;
  }
}

// Goes to another view (a hash route) and says what was done once it shows: app.js empties the
// message line as it starts a view, on the same hashchange, before this listener runs.
export function goTo(hash, news) {
  window.addEventListener('hashchange', () => say(news, true), { once: true });
  location.hash = hash;
}
