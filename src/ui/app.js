// The faass console (issue 16, first slice). Signed in by a cookie the page cannot read; the
// CSRF token from GET /ui/session lives in this closure only (never in storage or the page).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  let csrf = null;

  const show = (which) => {
    for (const id of ['noadmin', 'signin', 'functions']) $(id).hidden = id !== which;
    $('signout').hidden = which !== 'functions';
  };
  const say = (text) => { $('status').textContent = text; };
  const errorOf = async (r) => {
    try { return (await r.json()).error.message; } catch { return `HTTP ${r.status}`; }
  };

  async function start() {
    const r = await fetch('/ui/session', { credentials: 'same-origin' });
    if (r.status === 404) return show('noadmin');
    if (r.status !== 200) { csrf = null; return show('signin'); }
    const s = await r.json();
    csrf = s.csrfToken;
    $('who').textContent = `Signed in as ${s.credential} until ${new Date(s.expires).toLocaleString()}`;
    show('functions');
    await list();
  }

  async function list() {
    const r = await fetch('/system/functions', { credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } });
    if (r.status === 401) return start();
    if (r.status !== 200) return say(await errorOf(r));
    const rows = $('rows');
    rows.replaceChildren();
    for (const f of await r.json()) {
      const tr = document.createElement('tr');
      for (const text of [f.name, f.error ? `unreadable (${f.error})` : (f.kind ?? 'function'), f.runtime ?? '']) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      rows.append(tr);
    }
  }

  $('signin').addEventListener('submit', async (e) => {
    e.preventDefault();
    say('');
    const token = $('token').value;
    $('token').value = '';
    const r = await fetch('/ui/session', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
    if (r.status !== 200) return say(await errorOf(r));
    await start();
  });

  $('signout').addEventListener('click', async () => {
    await fetch('/ui/session', { method: 'DELETE', credentials: 'same-origin' });
    csrf = null;
    $('rows').replaceChildren();
    show('signin');
  });

  start().catch((e) => say(String(e)));
})();
