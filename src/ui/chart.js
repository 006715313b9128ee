// A function's charts (GET /system/function/NAME/history): calls and errors, and p50/p99
// latency, over the chosen window, drawn by uPlot (uplot.js, loaded by index.html as the global
// uPlot). Each chart is a figure whose caption says in words what it shows, for those who do
// not see the canvas; the totals are written out beside it.
import { el, fmtSeconds } from './api.js';

const HEIGHT = 180;
const CALLS = [{ label: 'Calls', stroke: '#1a5fb4', width: 2 }, { label: 'Errors', stroke: '#c01c28', width: 2 }];
const LATENCY = [{ label: 'p50', stroke: '#26a269', width: 2, value: (_u, v) => fmtSeconds(v) }, { label: 'p99', stroke: '#a51d2d', width: 2, value: (_u, v) => fmtSeconds(v) }];

// A figure with its caption; the uPlot inside it is made at its first data (its width then known).
function figure(caption) {
  const box = el('div', { class: 'chart' });
  return { node: el('figure', {}, el('figcaption', {}, caption), box), box, plot: null };
}

// floor: the least top of the y axis, so an empty chart still has a readable scale (0 to 1 call,
// 0 to 1 ms), not three ticks all labelled 0.
function draw(fig, series, data, yAxis, floor) {
  const width = Math.max(200, fig.box.clientWidth);
  if (fig.plot) {
    fig.plot.setData(data);
    if (fig.plot.width !== width) fig.plot.setSize({ width, height: HEIGHT });
    return;
  }
  const opts = { width, height: HEIGHT, series: [{}, ...series], axes: [{}, yAxis], scales: { y: { range: (_u, min, max) => [0, Math.max((max ?? 0) * 1.1, min ?? 0, floor)] } } };
  fig.plot = new window.uPlot(opts, data, fig.box);
}

// charts(): {node, update(span, history), resize(), destroy()}; span: the window in words.
export function charts() {
  const totals = el('p', { class: 'totals' });
  const calls = figure('Calls and errors per interval');
  const latency = figure('Latency, p50 and p99 per interval');
  const node = el('div', { class: 'charts' }, totals, calls.node, latency.node);
  const resize = () => { for (const f of [calls, latency]) if (f.plot) f.plot.setSize({ width: Math.max(200, f.box.clientWidth), height: HEIGHT }); };
  window.addEventListener('resize', resize);
  return {
    node,
    update(span, h) {
      const pts = h.points ?? [];
      const x = pts.map((p) => Date.parse(p.t) / 1000);
      const sum = (k) => pts.reduce((s, p) => s + (p[k] ?? 0), 0);
      totals.replaceChildren(`In the last ${span}: `, el('strong', { id: 'fn-calls' }, String(sum('calls'))), ' calls, ', el('strong', { id: 'fn-errors' }, String(sum('errors'))), ' errors, ', String(sum('coldStarts')), ' cold starts.');
      draw(calls, CALLS, [x, pts.map((p) => p.calls ?? 0), pts.map((p) => p.errors ?? 0)], {}, 1);
      draw(latency, LATENCY, [x, pts.map((p) => p.p50 ?? null), pts.map((p) => p.p99 ?? null)], { values: (_u, ticks) => ticks.map(fmtSeconds), size: 70 }, 0.001);
    },
    resize,
    destroy() {
      window.removeEventListener('resize', resize);
      for (const f of [calls, latency]) f.plot?.destroy();
    },
  };
}
