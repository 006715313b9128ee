// The deploy view (#/deploy, #/deploy/NAME for a new version of NAME): a form whose settings go
// to the management API as faassctl deploy --gateway sends them. Without code: POST (a new
// function) or PUT (a new version) /system/functions with the settings as JSON. With code (a
// file chosen, or typed in): PUT /system/function/NAME/code, the settings in X-Faass-Function.
import { apiJson, el } from './api.js';
import { field, outcome, busy } from './form.js';

// The form's runtime choice and the API's runtime: a container is runtime docker.
const RUNTIMES = [['exec', 'exec (a command or script)'], ['node', 'node'], ['python', 'python'], ['docker', 'container (docker image)']];
const TYPED_NAME = { exec: 'handler.sh', node: 'handler.js', python: 'handler.py', docker: 'handler' };
const TAR_GZ = /\.(tar\.gz|tgz)$/i;

const input = (attrs) => el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs });
const select = (options, value) => el('select', {}, options.map(([v, label]) => el('option', { value: v, selected: v === value }, label)));

// "NAME=value" lines into the API's env object; a line without "=" is the user's mistake.
export function envOf(text) {
  const env = {};
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const at = line.indexOf('=');
    if (at <= 0) throw new Error(`Environment line ${i + 1}: expected NAME=value`);
    env[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return env;
}

// X-Faass-Function is read as ASCII: anything beyond it goes as a JSON \u escape.
const asciiJson = (v) => JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function buildForm(existing) {
  const f = {
    name: input({ name: 'name', required: true, readonly: existing ? true : undefined, value: existing?.name }),
    kind: select([['function', 'function'], ['service', 'service']], existing?.kind ?? 'function'),
    runtime: select(RUNTIMES, existing?.runtime ?? 'exec'),
    command: input({ name: 'command', value: existing?.command }),
    image: input({ name: 'image', value: existing?.image }),
    file: el('input', { type: 'file', name: 'file' }),
    code: el('textarea', { name: 'code', rows: 6, spellcheck: 'false' }),
    filename: input({ name: 'filename', placeholder: 'handler.sh' }),
    env: el('textarea', { name: 'env', rows: 3, spellcheck: 'false' }, Object.entries(existing?.env ?? {}).map(([k, v]) => `${k}=${v}\n`).join('')),
    timeout: input({ name: 'timeout', placeholder: '30s', value: existing?.timeout }),
    auth: input({ name: 'auth', value: [existing?.auth ?? []].flat().join(',') || undefined }),
    message: input({ name: 'message' }),
  };
  return f;
}

// Only the fields the runtime takes are shown (an image for a container, a command otherwise).
function fitRuntime(f, wraps) {
  const rt = f.runtime.value;
  wraps.image.hidden = rt !== 'docker';
  wraps.command.hidden = rt === 'node' || rt === 'python';
  wraps.code.hidden = rt === 'docker';
  f.filename.placeholder = TYPED_NAME[rt];
}

// The settings as the API reads them (api/handlers.ts inputFromJson): empty fields left out.
function settingsOf(f) {
  const rt = f.runtime.value;
  const s = { name: f.name.value.trim(), kind: f.kind.value, runtime: rt };
  if (rt !== 'node' && rt !== 'python' && f.command.value.trim()) s.command = f.command.value.trim();
  if (rt === 'docker' && f.image.value.trim()) s.image = f.image.value.trim();
  const env = envOf(f.env.value);
  if (Object.keys(env).length) s.env = env;
  if (f.timeout.value.trim()) s.timeout = f.timeout.value.trim();
  if (f.auth.value.trim()) s.auth = f.auth.value.trim();
  if (f.message.value.trim()) s.message = f.message.value.trim();
  return s;
}

// The code to upload, if any: the chosen file, else the typed text (a file of the name given).
function codeOf(f) {
  const file = f.file.files?.[0];
  if (file) return { body: file, name: file.name, tar: TAR_GZ.test(file.name) };
  if (!f.code.value || f.runtime.value === 'docker') return null;
  return { body: f.code.value, name: f.filename.value.trim() || TYPED_NAME[f.runtime.value], tar: false };
}

function send(s, code, existing) {
  if (!code) return apiJson('/system/functions', { method: existing ? 'PUT' : 'POST', json: s });
  const { name, ...settings } = s;
  const headers = { 'X-Faass-Function': asciiJson(settings), 'Content-Type': code.tar ? 'application/gzip' : 'application/octet-stream' };
  const query = code.tar ? '' : `?filename=${encodeURIComponent(code.name)}`;
  return apiJson(`/system/function/${encodeURIComponent(name)}/code${query}`, { method: 'PUT', headers, body: code.body });
}

// What the API answered, in words: the version made, and its warnings.
function deployed(r) {
  const n = r.version?.number;
  const v = n === undefined ? '' : r.new_version === false ? ` (unchanged, still version ${n})` : ` as version ${n}`;
  return [el('p', {}, `Deployed ${r.name} (${r.runtime})${v}.`), ...(r.warnings ?? []).map((w) => el('p', {}, `Warning: ${w}`))];
}

export async function showDeploy(section, guarded, name) {
  let existing = null;
  const title = el('h1', { tabindex: '-1' }, name ? `New version of ${name}` : 'Deploy');
  section.replaceChildren(title);
  if (name) await guarded(async () => { existing = await apiJson(`/system/function/${encodeURIComponent(name)}`); })();
  if (name && !existing) return { stop() {} };
  const f = buildForm(existing);
  const out = outcome();
  const submit = el('button', { type: 'submit' }, existing ? 'Deploy new version' : 'Deploy');
  const wraps = {
    command: field('Command', f.command, 'Run for each call (exec), or the container\'s command; with code, run in its directory.'),
    image: field('Image', f.image),
    code: el('fieldset', {}, el('legend', {}, 'Code (optional)'),
      // The API takes no file= of its own: a function that runs its file keeps it only with new code.
      existing?.file ? el('p', { class: 'hint' }, `${existing.name} runs its file ${existing.file}: a new version needs its code again.`) : null,
      field('Upload a file', f.file, 'One file, or a .tar.gz of a directory.'),
      field('Or type it', f.code),
      field('File name for typed code', f.filename)),
  };
  const form = el('form', { class: 'deploy', novalidate: true },
    field('Name', f.name), field('Kind', f.kind), field('Runtime', f.runtime),
    wraps.command, wraps.image, wraps.code,
    field('Environment', f.env, 'One NAME=value a line.'),
    field('Timeout', f.timeout, 'Such as 30s or 2min; empty: the default.'),
    field('Callers (auth)', f.auth, 'Credential names, comma-separated; empty: anyone (or, for a new version, as it was).'),
    field('Version message', f.message),
    submit, out.node);
  f.runtime.addEventListener('change', () => fitRuntime(f, wraps));
  fitRuntime(f, wraps);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const s = settingsOf(f);
      if (!s.name) throw new Error('A name is required');
      const r = await send(s, codeOf(f), existing);
      out.ok(...deployed(r));
      location.hash = `#/function/${encodeURIComponent(r.name)}`;
    });
  });
  section.append(form);
  return { stop() {} };
}
