// The Dockerfile of a faassctl image (pure). FROM the base (a node image) for exec, node and
// python functions; for a container function, FROM its own image with node copied in from the
// base (a first stage gathers node and every shared library it loaded). Either way: faass's
// runtime, the function's file and code, a check that the interpreters it needs are there, and a
// user that is not root. Secrets are not in it: the pod mounts them at /var/openfaas/secrets.
import { SECRETS_DIR, IMAGE_PORT } from '../export/common';
import { APP_DIR, CONFIG_HOME, DATA_HOME, IMAGE_COMMAND_ENV, IMAGE_USER, NODE_DIR, SERVE_JS } from './layout';

export interface DockerfileInput {
  readonly name: string;
  readonly runtime: 'exec' | 'node' | 'python' | 'docker';
  readonly base: string;
  readonly hasSecrets: boolean;
  readonly hasCode: boolean; // data/ holds files (a command-only exec function's code is empty)
  // runtime docker: the function's image, its command line in the image and the user to run as
  readonly functionImage?: string;
  readonly command?: string;
  readonly user?: string;
}

// The build steps that check the base, by their text: a failure there is said in one line
// (context.ts), not as the engine's.
export const NODE_CHECK = 'faass: node 20 or later';
export const PYTHON_CHECK = 'faass: python3';

const json = (argv: readonly string[]): string => JSON.stringify(argv);
// An ENV value, quoted: the builder would otherwise expand a command's $Http_Method itself.
const envValue = (v: string): string => JSON.stringify(v).replace(/\$/g, '\\$');

// node 20 or later, or the step fails (an older node would fail at the first call, not here).
const nodeCheck = (node: readonly string[]): string =>
  `RUN ${json([...node, '-e', `if (Number(process.versions.node.split('.')[0]) < 20) { console.error('${NODE_CHECK}: this base has node ' + process.version); process.exit(1) }`])}`;

// In the base's stage: node and every shared object it has mapped (its libraries, the dynamic
// loader) into NODE_DIR, the loader as NODE_DIR/ld.so, so it runs in an image of any libc.
const GATHER_NODE = [
  "const fs = require('fs'), path = require('path');",
  `const dir = '${NODE_DIR}';`,
  "fs.mkdirSync(dir + '/bin', { recursive: true }); fs.mkdirSync(dir + '/lib', { recursive: true });",
  "fs.copyFileSync(process.execPath, dir + '/bin/node');",
  "const libs = new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5]).filter((f) => f && f.startsWith('/') && /\\.so/.test(path.basename(f))));",
  "for (const f of libs) fs.copyFileSync(f, dir + '/lib/' + path.basename(f));",
  "const ld = [...libs].find((f) => /^ld-linux|^ld-musl|^ld64/.test(path.basename(f)));",
  "if (!ld) { console.error('faass: no dynamic loader among node\\'s libraries'); process.exit(1) }",
  "fs.copyFileSync(ld, dir + '/ld.so'); fs.chmodSync(dir + '/ld.so', 0o755); fs.chmodSync(dir + '/bin/node', 0o755);",
].join(' ');

export const BORROWED_NODE = [`${NODE_DIR}/ld.so`, '--library-path', `${NODE_DIR}/lib`, `${NODE_DIR}/bin/node`];

export function dockerfile(i: DockerfileInput): string {
  const container = i.runtime === 'docker';
  const node = container ? BORROWED_NODE : ['node'];
  const env: Record<string, string> = {
    XDG_CONFIG_HOME: CONFIG_HOME,
    XDG_DATA_HOME: DATA_HOME,
    XDG_STATE_HOME: '/tmp/faass-state',
    XDG_RUNTIME_DIR: '/tmp',
    FAASS_FUNCTION: i.name,
    PORT: String(IMAGE_PORT),
    // The path only: the values are mounted there at run time (faassctl export's manifests).
    ...(i.hasSecrets ? { CREDENTIALS_DIRECTORY: SECRETS_DIR } : {}),
    ...(container && i.command !== undefined ? { [IMAGE_COMMAND_ENV]: i.command } : {}),
  };
  return [
    `# faassctl image ${i.name} (faassctl-image(1))`,
    ...(container ? [`FROM ${i.base} AS faass-node`, nodeCheck(['node']), `RUN ${json(['node', '-e', GATHER_NODE])}`, `FROM ${i.functionImage}`, `COPY --from=faass-node ${NODE_DIR} ${NODE_DIR}`] : [`FROM ${i.base}`]),
    `COPY app ${APP_DIR}`,
    `COPY config ${CONFIG_HOME}`,
    ...(i.hasCode ? [`COPY data ${DATA_HOME}`] : []),
    // The code's directory even when empty: the runner works in it (WORKDIR makes it). A
    // container function works where its image says, as in its container.
    ...(container ? [] : [`WORKDIR ${DATA_HOME}/faass/functions/${i.name}`]),
    `ENV ${Object.entries(env).map(([k, v]) => `${k}=${envValue(v)}`).join(' ')}`,
    `USER ${container && i.user ? i.user : IMAGE_USER}`,
    nodeCheck(node),
    ...(i.runtime === 'python' ? [`RUN ${json(['python3', '-c', `import sys; sys.exit(0 if sys.version_info >= (3, 8) else '${PYTHON_CHECK}: this base has ' + sys.version.split()[0])`])}`] : []),
    `EXPOSE ${IMAGE_PORT}`,
    `ENTRYPOINT ${json([...node, SERVE_JS])}`,
    'CMD []',
    '',
  ].join('\n');
}
