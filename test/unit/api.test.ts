import t from 'tap';
import { inputFromJson, functionView } from '../../src/api/handlers';
import { buildFunctionConfig } from '../../src/functions/function-config';

t.test('JSON bodies into deploy input', async (t) => {
  t.same(inputFromJson({ name: 'f', runtime: 'exec', command: 'cat', timeout: 5, pass_authorization: true, env: { A: '1' } }), { name: 'f', input: { runtime: 'exec', command: 'cat', timeout: '5', pass_authorization: true, env: { A: '1' } } });
  t.same(inputFromJson({ service: 'f', image: 'busybox', envVars: { B: '2' } }).input, { image: 'busybox', runtime: 'docker', env: { B: '2' } }, "OpenFaaS's service and envVars; an image means docker");
  t.equal(inputFromJson({ name: 'f', command: 'cat' }).input.runtime, 'exec', 'a command alone means exec');
  t.same(inputFromJson({ name: 'f', command: 'cat', auth: ['ci', 'ops'] }).input.auth, 'ci,ops', 'auth as a list');
  const bad: [unknown, RegExp][] = [
    [null, /JSON object/],
    ['x', /JSON object/],
    [{}, /name/],
    [{ name: '../etc' }, /name/],
    [{ name: 'f', Description: 'x' }, /Unknown field "Description"/],
    [{ name: 'f', command: ['a'] }, /command/],
    [{ name: 'f', build: '/home' }, /not a host path/],
    [{ name: 'f', env: 'A=1' }, /env/],
    [{ name: 'f', env: { A: 1 } }, /env "A"/],
  ];
  for (const [body, re] of bad) t.throws(() => inputFromJson(body), re, JSON.stringify(body));
});

t.test('the view of a function has its settings and its URL', async (t) => {
  const v = functionView(buildFunctionConfig('f', { runtime: 'exec', command: 'cat', auth: 'ci' }));
  t.same([v.name, v.command, v.auth, v.url], ['f', 'cat', ['ci'], '/function/f']);
  t.equal(v.image, undefined);
});
