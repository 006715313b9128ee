// A function's page (#/function/NAME): its figures over a window (charts), its live log tail,
// its settings, versions, triggers, and queue of dead letters, each read from the management API
// the CLI uses. Charts and settings are read again every 10 s while the tab is visible.
import { apiJson, el, fmtCount } from './api.js';
import { poll } from './poll.js';
import { charts } from './chart.js';
import { tail } from './logs.js';
import { mountActions } from './actions.js';

const WINDOWS = [['15m', '15 minutes'], ['1h', '1 hour'], ['6h', '6 hours'], ['24h', '24 hours'], ['7d', '7 days']];
const POINTS = 60;

// A value as a person reads it: lists joined, objects as key=value, nothing for empty.
function text(v) {
  if (v === null || v === undefined || v === '') return null;
  if (Array.isArray(v)) return v.length ? v.map(text).join(', ') : null;
  if (typeof v === 'object') {
    const parts = Object.entries(v).map(([k, x]) => [k, text(x)]).filter(([, x]) => x !== null);
    return parts.length ? parts.map(([k, x]) => `${k}=${x}`).join(', ') : null;
  }
  return String(v);
}

// The settings as a definition list, in the API's order, empty ones left out. Secrets are
// names only: the API never gives their values.
function settingsList(f) {
  const rows = Object.entries(f).filter(([k]) => k !== 'name').map(([k, v]) => [k.replace(/_/g, ' '), text(v)]).filter(([, v]) => v !== null);
  return el('dl', { class: 'settings' }, rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

// A table in its own scrolling box (wide ones scroll there, not the page), or a line saying none.
function table(caption, heads, rows, none) {
  if (!rows.length) return el('p', {}, none);
  return el('div', { class: 'scroll', role: 'region', 'aria-label': caption, tabindex: '0' },
    el('table', {}, el('caption', { class: 'sr-only' }, caption), el('thead', {}, el('tr', {}, heads.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c, i) => (i === 0 ? el('th', { scope: 'row' }, c) : el('td', {}, c))))))));
}

// A time as the reader's clock shows it; the text as given when it is not one JavaScript reads.
const when = (t) => {
  if (!t) return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString();
};

function versionsTable(vs) {
  return table('Versions', ['Version', 'Live', 'When', 'Who', 'Via', 'Message'],
    [...vs].reverse().map((v) => [String(v.number), v.current ? 'live' : '', when(v.time), v.who ?? '', v.via ?? '', v.message ?? '']), 'No versions recorded.');
}

// GET /system/triggers/NAME: schedules, topics, file drops, NATS bridges (functions/triggers.ts).
function triggersTable(t) {
  const rows = [
    ...(t.schedules ?? []).map((s) => ['schedule', s.id, s.tz ? `${s.spec} (${s.tz})` : s.spec, when(s.next), when(s.last)]),
    ...(t.topics ?? []).map((s) => ['topic', '', s.topic, '', '']),
    ...(t.drops ?? []).map((s) => ['file drop', s.id, `${s.watch}/${s.pattern}`, '', '']),
    ...(t.nats ?? []).map((s) => ['NATS', s.id, `${s.subject} on ${s.nats}`, '', '']),
  ];
  return table('Triggers', ['Kind', 'Id', 'What', 'Next', 'Last'], rows, 'No triggers.');
}

function deadTable(ds) {
  return table('Dead letters', ['Call', 'Queued', 'Request', 'Bytes', 'Attempts'],
    ds.map((d) => [d.id ?? d.entry ?? '', when(d.enqueuedAt), `${d.method ?? ''} ${d.path ?? ''}`.trim(), fmtCount(d.bytes), fmtCount(d.attempts)]), 'No dead letters.');
}

// A part of the page that fills itself from one API read; a failure there is said there, except
// an ended session, which goes up (guarded: back to sign-in).
function part(title, id) {
  const body = el('div', { id });
  return {
    node: el('section', { 'aria-labelledby': `${id}-h` }, el('h2', { id: `${id}-h` }, title), body),
    async fill(read, render) {
      try { body.replaceChildren(render(await read())); } catch (e) {
        if (e.status === 401) throw e;
        body.replaceChildren(el('p', { class: 'error' }, e.message));
      }
    },
  };
}

// Fills section with the function's page; returns {stop()} to leave it.
export async function showFunction(section, name, guarded) {
  const q = encodeURIComponent(name);
  const win = el('select', { id: 'fn-window' }, WINDOWS.map(([v, label]) => el('option', { value: v, selected: v === document.getElementById('window').value }, label)));
  const chart = charts();
  const log = tail(name);
  const parts = { settings: part('Settings', 'fn-settings'), versions: part('Versions', 'fn-versions'), triggers: part('Triggers', 'fn-triggers'), dead: part('Dead letters', 'fn-dead') };
  const figures = el('section', { 'aria-labelledby': 'fn-charts-h' }, el('h2', { id: 'fn-charts-h' }, 'Calls and latency'),
    el('div', { class: 'bar' }, el('label', { for: 'fn-window' }, 'Window'), win));
  const chartNote = el('p', { class: 'error' });
  const actions = el('div', { id: 'fn-actions' });
  const danger = el('div', { id: 'fn-danger' });
  // What is asked most first: how it does, what it logs; then the controls, its definition, and
  // last the one action that cannot be undone.
  section.replaceChildren(
    el('h1', { tabindex: '-1' }, name),
    figures,
    el('section', { 'aria-labelledby': 'fn-log-h' }, el('h2', { id: 'fn-log-h' }, 'Log'), log.node),
    actions, // invoke, new version, rollback, redrive (actions.js)
    ...Object.values(parts).map((p) => p.node),
    danger, // delete (actions.js)
  );
  figures.append(chartNote, chart.node); // in the page before the first draw: uPlot takes its width

  const history = async () => {
    try {
      chart.update(win.selectedOptions[0].textContent, await apiJson(`/system/function/${q}/history?window=${encodeURIComponent(win.value)}&points=${POINTS}`));
      chartNote.textContent = '';
    } catch (e) {
      if (e.status === 401) throw e;
      chartNote.textContent = e.message;
    }
  };
  const refresh = guarded(() => Promise.all([
    history(),
    parts.settings.fill(() => apiJson(`/system/function/${q}`), settingsList),
    parts.versions.fill(() => apiJson(`/system/function/${q}/versions`), versionsTable),
    parts.triggers.fill(() => apiJson(`/system/triggers/${q}`), triggersTable),
    parts.dead.fill(() => apiJson(`/system/dlq/${q}`), deadTable),
  ]));
  win.addEventListener('change', guarded(history));
  const poller = poll(10, refresh);
  guarded(() => mountActions(actions, name, refresh, danger))();
  return {
    stop() {
      poller.stop();
      log.stop();
      chart.destroy();
    },
  };
}
