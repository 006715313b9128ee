// Deploy planning is pure: what a deploy writes, decided from the spec and the staged code's files.
import t from 'tap';
import { checkSpec, resolveHandler, planInput, planConfig, carryAccess, DeploySpec } from '../../src/functions/deploy-plan';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { FaassError } from '../../src/core/errors';

const codeOf = (f: () => unknown) => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof FaassError ? e.code : String(e);
  }
};
const files = (...names: string[]) => (f: string) => names.includes(f);

t.test('checkSpec refuses from the settings alone', async (t) => {
  t.equal(codeOf(() => checkSpec({ name: 'a', input: { runtime: 'exec', command: 'cat' } })), 'no error');
  t.equal(codeOf(() => checkSpec({ name: 'a', input: { runtime: 'node' }, fromFile: 'h.js' })), 'no error', 'a node function whose file comes with the code');
  t.equal(codeOf(() => checkSpec({ name: 'a', input: { runtime: 'node' } })), 'FAASS_E_CONFIG_INVALID', 'a node function with no code at all');
  t.equal(codeOf(() => checkSpec({ name: 'a', input: { runtime: 'ruby', command: 'x' } })), 'FAASS_E_RUNTIME_UNKNOWN');
  t.equal(codeOf(() => checkSpec({ name: 'a', input: { runtime: 'docker', build: '.', image: 'x' } })), 'FAASS_E_USAGE', 'image and build exclude each other');
  t.equal(codeOf(() => checkSpec({ name: 'a', input: { runtime: 'docker', build: '.' } })), 'no error', 'a build names its image later');
});

t.test("Kubeless FILE.NAME finds the file with the runtime's extensions", async (t) => {
  const spec = (handlerSpec: string, input = {}): DeploySpec => ({ name: 'k', input: { runtime: 'node', ...input }, handlerSpec });
  t.same(resolveHandler(spec('handler.hello'), 'node', true, files('handler.mjs')), { file: 'handler.mjs', handler: 'hello' }, '.mjs found in a directory');
  t.same(resolveHandler(spec('handler.hello'), 'node', true, files('handler.js', 'handler.mjs')), { file: 'handler.js', handler: 'hello' }, '.js first');
  t.same(resolveHandler(spec('main.handle'), 'python', true, files('main.py')), { file: 'main.py', handler: 'handle' });
  t.same(resolveHandler(spec('handler.hello'), 'node', true, files()), { file: 'handler', handler: 'hello' }, 'not found: the name as given (refused later)');
  t.same(resolveHandler(spec('hello'), 'node', true, files()), { file: undefined, handler: 'hello' }, 'NAME alone is the export');
  t.same(resolveHandler(spec('handler.hello', { file: 'own.js' }), 'node', false, files('handler.js')), { file: 'own.js', handler: 'hello' }, 'a single file keeps its own name');
});

t.test("a directory that names no file: handler.py, handler.js or index.js, as OpenFaaS and Lambda lay one out", async (t) => {
  const none: DeploySpec = { name: 'k', input: {} };
  t.same(resolveHandler(none, 'python', true, files('handler.py', 'util.py')), { file: 'handler.py', handler: undefined });
  t.same(resolveHandler(none, 'node', true, files('index.js', 'handler.js')), { file: 'handler.js', handler: undefined }, 'handler.js first');
  t.same(resolveHandler(none, 'node', true, files('index.js')), { file: 'index.js', handler: undefined });
  t.same(resolveHandler(none, 'python', true, files('main.py')), { file: undefined, handler: undefined }, 'none of them: refused later, saying what it looks for');
  t.same(resolveHandler({ name: 'k', input: { file: 'main.py' } }, 'python', true, files('handler.py', 'main.py')), { file: 'main.py', handler: undefined }, 'a file named is kept');
  t.throws(() => buildFunctionConfig('k', { runtime: 'python' }), /runtime python needs a handler file: a single file, a directory holding handler\.py, or --handler FILE\.NAME/);
});

t.test('planInput and planConfig', async (t) => {
  const one = planInput({ name: 'p', input: { runtime: 'python' }, fromFile: '/tmp/x/handler.py' }, false, files('handler.py'));
  t.equal(one.file, 'handler.py', 'a single file is the file');
  t.same(planConfig({ name: 'p', input: one, fromFile: '/tmp/x/handler.py' }, one, files('handler.py')).file, 'handler.py');
  const dir = planInput({ name: 'p', input: { runtime: 'node' }, fromFile: '/tmp/x', handlerSpec: 'src/fn.run' }, true, files('src/fn.js'));
  t.same([dir.file, dir.handler], ['src/fn.js', 'run']);
  t.equal(planInput({ name: 'd', input: { runtime: 'docker', image: 'i' }, fromFile: '/tmp/x/app.bin' }, false, files('app.bin')).file, undefined, 'docker code has no file=');
  t.throws(() => planConfig({ name: 'p', input: {}, fromFile: '/tmp/x' }, { runtime: 'node', file: 'gone.js' }, files()), { code: 'FAASS_E_FILE_MISSING', message: /gone\.js is not in the function's code \(from \/tmp\/x\)/ });
});

t.test('carryAccess: kept, replaced, and fail-closed', async (t) => {
  const prot = buildFunctionConfig('f', { runtime: 'exec', command: 'cat', auth: 'ci,ops', pass_authorization: 'yes' });
  const kept: Record<string, unknown> = {};
  carryAccess('f', kept, prot);
  t.same([kept.auth, kept.pass_authorization], ['ci,ops', true], 'an update that does not say keeps both');
  const opened: Record<string, unknown> = { auth: '' };
  carryAccess('f', opened, prot);
  t.equal(opened.auth, '', 'auth "" opens it');
  const fresh: Record<string, unknown> = {};
  carryAccess('f', fresh, null);
  t.same(fresh, {}, 'a new function has nothing to keep');
  t.throws(() => carryAccess('f', {}, new Error('/x/f.conf: bad line')), { code: 'FAASS_E_ACCESS_UNKNOWN', message: /\/x\/f\.conf: bad line.*--auth NAME.*--public/ });
  const said: Record<string, unknown> = { auth: 'ci' };
  carryAccess('f', said, new Error('broken'));
  t.same(said, { auth: 'ci' }, 'an unreadable file is no obstacle when the update says; pass_authorization stays off');
});
