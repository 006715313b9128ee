// The function list: every function and service with its units' state and its figures over the
// chosen window (GET /system/stats), refreshed while the tab is visible.
import { apiJson, el, say, fmtSeconds, fmtBytes, fmtByteSeconds, fmtCount } from './api.js';

const COLUMNS = (f) => [
  el('a', { href: `#/function/${encodeURIComponent(f.name)}` }, f.name),
  f.error ? `unreadable (${f.error})` : (f.kind ?? 'function'),
  f.runtime ?? '',
  el('span', { class: `state state-${f.state ?? 'unknown'}` }, f.state ?? 'unknown'),
  fmtCount(f.calls), fmtCount(f.errors), fmtSeconds(f.p50), fmtSeconds(f.p99), fmtCount(f.coldStarts), fmtSeconds(f.cpuPerCall), fmtByteSeconds(f.memoryPerCall), fmtBytes(f.memoryPeakBytes), fmtCount(f.queue?.queued), fmtCount(f.queue?.dead),
];

export async function refreshList() {
  const win = document.getElementById('window').value;
  let rows;
  try {
    rows = (await apiJson(`/system/stats?window=${encodeURIComponent(win)}`)).functions;
  } catch (e) {
    if (e.status === 401) throw e;
    say(e.message);
    return;
  }
  const body = document.getElementById('rows');
  // When the figures were read: the list is live (poll.js), and this says it still is.
  document.getElementById('updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
  body.replaceChildren(...rows.map((f) => el('tr', { 'data-name': f.name }, COLUMNS(f).map((c, i) => el(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : { class: i >= 4 ? 'num' : null }, c)))));
}
