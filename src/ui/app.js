// The faass console (issue 16): sign-in, then views chosen by the URL's hash: #/ the function
// list, #/function/NAME a function's page, #/deploy the deploy form (#/deploy/NAME: a new
// version of NAME). Signed in by a cookie the page cannot read; the CSRF token lives in api.js.
import { setCsrf, say, errorOf } from './api.js';
import { poll } from './poll.js';
import { refreshList } from './list.js';
import { showFunction } from './fn.js';
import { showDeploy } from './actions.js';

const $ = (id) => document.getElementById(id);
const VIEWS = ['noadmin', 'signin', 'functions', 'function', 'deploy'];
let current = null; // the poller (or cleanup) of the view shown

const show = (which) => {
  for (const id of VIEWS) $(id).hidden = id !== which;
  const signedIn = !['noadmin', 'signin'].includes(which);
  $('signout').hidden = !signedIn;
  $('nav').hidden = !signedIn;
};

// Back to the sign-in form when the session ends under us (expired, signed out elsewhere).
export function sessionLost() {
  setCsrf(null);
  leave();
  $('rows').replaceChildren();
  show('signin');
}

function leave() {
  current?.stop();
  current = null;
}

const guarded = (run) => async () => {
  try { await run(); } catch (e) { if (e.status === 401) sessionLost(); else say(e.message); }
};

async function route() {
  leave();
  say('');
  const [, view, arg] = /^#\/([a-z]*)\/?(.*)$/.exec(location.hash) ?? [];
  if (view === 'function' && arg) {
    show('function');
    current = await showFunction($('function'), decodeURIComponent(arg), guarded);
  } else if (view === 'deploy') {
    show('deploy');
    current = await showDeploy($('deploy'), guarded, arg ? decodeURIComponent(arg) : undefined); // NAME: a new version
  } else {
    show('functions');
    current = poll(5, guarded(refreshList));
  }
  document.querySelector('.view:not([hidden]) h1')?.focus?.();
}

async function start() {
  const r = await fetch('/ui/session', { credentials: 'same-origin' });
  if (r.status === 404) return show('noadmin');
  if (r.status !== 200) { setCsrf(null); return show('signin'); }
  const s = await r.json();
  setCsrf(s.csrfToken);
  $('who').textContent = `Signed in as ${s.credential} until ${new Date(s.expires).toLocaleString()}`;
  await route();
}

window.addEventListener('hashchange', () => { if (!$('signout').hidden) route().catch((e) => say(String(e))); });
$('window').addEventListener('change', guarded(refreshList));

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
  sessionLost();
});

start().catch((e) => say(String(e)));
