// A function's actions, on its page (fn.js gives them its <div id="fn-actions">): invoke
// (invoke.js), a new version (deploy.js), rollback where it has versions, redrive where it has
// dead letters, and delete. Each is one request to the management API the CLI uses.
import { apiJson, el } from './api.js';
import { outcome, busy, goTo } from './form.js';
import { mountInvoke } from './invoke.js';

export { showDeploy } from './deploy.js';

const path = (name, rest = '') => `/system/function/${encodeURIComponent(name)}${rest}`;

// Delete in two steps: the first button shows the second ("Really delete NAME") and a cancel;
// no window.confirm, so the keyboard and the page's own words do it.
function mountDelete(container, name) {
  const out = outcome();
  const ask = el('button', { type: 'button', class: 'danger' }, `Delete ${name}`);
  const really = el('button', { type: 'button', class: 'danger', hidden: true }, `Really delete ${name}`);
  const cancel = el('button', { type: 'button', hidden: true }, 'Cancel');
  const asking = (on) => { ask.hidden = on; really.hidden = !on; cancel.hidden = !on; (on ? really : ask).focus(); };
  ask.addEventListener('click', () => { out.clear(); asking(true); });
  cancel.addEventListener('click', () => asking(false));
  really.addEventListener('click', () => busy(really, out, async () => {
    await apiJson(path(name), { method: 'DELETE' });
    goTo('#/', `Deleted ${name}`);
  }));
  container.append(el('section', { class: 'action', 'aria-labelledby': 'delete-h' }, el('h2', { id: 'delete-h' }, 'Delete'),
    el('p', {}, 'Stops and removes the function, its units, code, versions and queue.'), el('div', { class: 'bar' }, ask, really, cancel), out.node));
}

// Versions, and a rollback to one of them (POST .../rollback {"to": N}, as faassctl rollback
// --to N). Shown where there is a version to go back to.
async function mountRollback(container, name, refresh) {
  const box = el('section', { class: 'action', 'aria-labelledby': 'rollback-h', hidden: true });
  const out = outcome();
  container.append(box);
  const fill = async () => {
    const versions = await apiJson(path(name, '/versions'));
    const live = versions.find((v) => v.current);
    const others = versions.filter((v) => !v.current).reverse();
    box.hidden = others.length === 0; // nothing to go back to
    if (box.hidden) return box.replaceChildren();
    const choice = el('select', { id: 'rollback-to' }, others.map((v) => el('option', { value: v.number }, `${v.number}, ${v.time.slice(0, 19).replace('T', ' ')}, ${v.who}${v.message ? `: ${v.message}` : ''}`)));
    const access = el('input', { type: 'checkbox', id: 'rollback-access' });
    const go = el('button', { type: 'button' }, 'Roll back');
    go.addEventListener('click', () => busy(go, out, async () => {
      const r = await apiJson(path(name, '/rollback'), { method: 'POST', json: { to: Number(choice.value), ...(access.checked ? { restore_access: true } : {}) } });
      await fill();
      box.querySelector('button')?.focus(); // the one clicked is gone with the old list
      out.ok(el('p', {}, `Rolled ${name} back to version ${r.to}${r.from !== null ? ` (from ${r.from})` : ''}.`), ...(r.notes ?? []).map((n) => el('p', {}, n)));
      refresh?.();
    }));
    box.replaceChildren(el('h2', { id: 'rollback-h' }, 'Roll back'),
      el('p', { class: 'live-version' }, 'Live version: ', el('strong', {}, live ? String(live.number) : 'none')),
      el('div', { class: 'bar' }, el('label', { for: 'rollback-to' }, 'Version'), choice, go),
      el('div', { class: 'check' }, access, el('label', { for: 'rollback-access' }, 'Also when that version lets more callers in')),
      out.node);
  };
  await fill();
}

const lastResult = (d) => {
  const a = d.attempts?.[d.attempts.length - 1];
  return a ? (a.status !== undefined ? `HTTP ${a.status}` : a.error ?? 'no result') : '—';
};

// Dead letters, redriven one or all (POST /system/dlq/NAME/redrive {"ids": [...]} or {"all": true}).
// Shown where there are some.
async function mountRedrive(container, name, refresh) {
  const box = el('section', { class: 'action', 'aria-labelledby': 'dlq-h', hidden: true });
  container.append(box);
  const out = outcome();
  let redriven = false;
  const redrive = (button, body) => busy(button, out, async () => {
    const r = await apiJson(`/system/dlq/${encodeURIComponent(name)}/redrive`, { method: 'POST', json: body });
    redriven = true;
    await fill();
    box.querySelector('button')?.focus();
    out.ok(`Redrove ${r.done.length} call(s)${r.missing.length ? `; no dead letter ${r.missing.join(', ')}` : ''}.`);
    refresh?.();
  });
  const row = (d) => {
    const one = el('button', { type: 'button', 'aria-label': `Redrive call ${d.id}` }, 'Redrive');
    one.addEventListener('click', () => redrive(one, { ids: [d.id] }));
    return el('tr', {}, el('th', { scope: 'row' }, d.id ?? d.entry), el('td', {}, d.enqueuedAt ?? ''), el('td', {}, `${d.method ?? ''} ${d.path ?? ''}`),
      el('td', { class: 'num' }, String(d.attempts?.length ?? 0)), el('td', {}, lastResult(d)), el('td', {}, d.id ? one : 'unreadable'));
  };
  const fill = async () => {
    const dead = await apiJson(`/system/dlq/${encodeURIComponent(name)}`);
    // None: no section, unless a redrive just emptied it (its answer stays in view).
    box.hidden = dead.length === 0 && !redriven;
    if (dead.length === 0) return box.replaceChildren(el('h2', { id: 'dlq-h' }, 'Redrive dead letters'), el('p', { class: 'dlq-count' }, 'No dead letters left.'), out.node);
    const all = el('button', { type: 'button' }, `Redrive all ${dead.length}`);
    all.addEventListener('click', () => redrive(all, { all: true }));
    box.replaceChildren(el('h2', { id: 'dlq-h' }, 'Redrive dead letters'), el('p', { class: 'dlq-count' }, `${dead.length} dead letter(s): calls that ran out of attempts.`),
      el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {}, ['Call', 'Queued', 'Request', 'Attempts', 'Last result', ''].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, dead.map(row)))),
      all, out.node);
  };
  await fill();
}

// The actions of function `name` into container, and Delete into `last` (the page's end, away
// from the everyday controls); refresh: the page's own reload, after a change that shows on it
// (its versions, its dead letters). A part that cannot load says why.
export async function mountActions(container, name, refresh, last = container) {
  mountInvoke(container, name);
  container.append(el('p', {}, el('a', { href: `#/deploy/${encodeURIComponent(name)}` }, `Deploy a new version of ${name}`)));
  for (const part of [mountRollback, mountRedrive]) {
    try {
      await part(container, name, refresh);
    } catch (e) {
      if (e.status === 401) throw e;
      container.append(el('p', { role: 'alert', class: 'error' }, e.message));
    }
  }
  mountDelete(last, name);
}
