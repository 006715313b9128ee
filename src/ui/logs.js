// A function's live log tail: GET /system/logs/NAME?lines=50&follow=1, an ndjson stream of its
// journal lines read as it comes. The stream is closed while the tab is hidden (an open one keeps
// the gateway and the API awake: docs/DESIGN.md "Web console") and when the page is left; when
// the tab shows again it resumes after the last line seen (&after=CURSOR), so none repeats.
import { api, el, errorOf } from './api.js';
import { onVisibility } from './poll.js';

const KEEP = 500; // lines kept on the page: the oldest go
const RETRY_SECONDS = 10; // after the stream ended or failed, while the tab is visible

const hhmmss = (iso) => { const d = new Date(iso); return Number.isNaN(d.getTime()) ? String(iso ?? '') : d.toLocaleTimeString(); };

// tail(name): {node, stop()}; node is the scrolling region of lines.
export function tail(name) {
  const lines = el('div', { class: 'lines' });
  const note = el('p', { class: 'log-note' });
  // aria-live off: a stream of lines read aloud as they come would drown everything else.
  const node = el('div', { class: 'log', id: 'fn-log', role: 'region', 'aria-label': `Log of ${name}`, 'aria-live': 'off', tabindex: '0' }, lines);
  let ctl = null;
  let cursor = null;
  let retry = null;
  let stopped = false;

  // The line a resumed stream starts after: the server leaves it out, and so does the page.
  let resumedAfter = null;
  const append = (entry) => {
    if (entry.cursor && entry.cursor === resumedAfter) return;
    if (entry.cursor) cursor = entry.cursor;
    const atEnd = node.scrollTop + node.clientHeight >= node.scrollHeight - 4;
    lines.append(el('div', { class: entry.priority <= 3 ? 'line err' : 'line' }, el('span', { class: 'when' }, hhmmss(entry.time)), ' ', entry.message ?? ''));
    while (lines.childElementCount > KEEP) lines.firstElementChild.remove();
    if (atEnd) node.scrollTop = node.scrollHeight; // follow the end unless the reader scrolled up
  };

  // Reads the stream to its end: true when it ended with the server's error line. A last line
  // without its newline (cut) is dropped: after= gives it again.
  const read = async (body) => {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let failed = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return failed;
      buf += value;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        const entry = JSON.parse(line);
        // The server's last line when the stream failed once begun: said in the note, not as a line.
        if (entry.error) {
          failed = true;
          note.textContent = `Log: ${entry.error.message ?? entry.error.code}`;
        } else append(entry);
      }
    }
  };

  const open = async () => {
    retry = null;
    if (stopped || ctl || document.visibilityState !== 'visible') return;
    const c = (ctl = new AbortController());
    resumedAfter = cursor;
    const after = cursor ? `&after=${encodeURIComponent(cursor)}` : '';
    const began = Date.now();
    let failed = true;
    try {
      const r = await api(`/system/logs/${encodeURIComponent(name)}?lines=50&follow=1${after}`, { signal: c.signal });
      if (!r.ok) throw new Error(await errorOf(r));
      note.textContent = '';
      failed = await read(r.body);
    } catch (e) {
      if (e.name !== 'AbortError') note.textContent = `Log: ${e.message}`;
    } finally {
      if (ctl === c) ctl = null;
    }
    // Ended without our asking. Whole, after a while open (the server's cap on a stream's life,
    // a restart): at once, with after=, which is authorized again. A failure, or an end that
    // came fast (no loop of them): again in a while, while visible.
    const soon = !failed && Date.now() - began >= RETRY_SECONDS * 1000;
    if (!c.signal.aborted && !stopped && retry === null) retry = setTimeout(open, soon ? 0 : RETRY_SECONDS * 1000);
  };

  const close = () => {
    if (retry !== null) clearTimeout(retry);
    retry = null;
    ctl?.abort();
    ctl = null;
  };

  const unhook = onVisibility((visible) => (visible ? open() : close()));
  open();
  return {
    node: el('div', {}, node, note),
    stop() {
      stopped = true;
      unhook();
      close();
    },
  };
}
