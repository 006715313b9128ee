import t from 'tap';
import { parseRoute } from '../../src/gateway/route';
import { watchdogEnv } from '../../src/runner/call';
import { commandArgv } from '../../src/runner/exec-executor';
import { buildFunctionConfig } from '../../src/functions/function-config';

t.test('routes', async (t) => {
  t.same(parseRoute('/function/hello', undefined), { name: 'hello', path: '/' });
  t.same(parseRoute('/function/hello/a/b?x=1', undefined), { name: 'hello', path: '/a/b?x=1' });
  t.same(parseRoute('/lambda/hello?x=1', undefined), { name: 'hello', path: '/?x=1' });
  t.same(parseRoute('/any/path?q', 'hello'), { name: 'hello', path: '/any/path?q' });
  t.same(parseRoute('/function/a%2Fb', undefined), { name: 'a/b', path: '/' }, 'decoded, so validation sees the real name');
  t.equal(parseRoute('/other', undefined), null);
  t.equal(parseRoute('/functions/x', undefined), null);
});

t.test('watchdog environment names', async (t) => {
  const env = watchdogEnv({ id: '1', method: 'POST', path: '/p', query: 'a=1', headers: { 'content-type': 'text/plain', 'x-call-id': '1' }, body: Buffer.alloc(0) });
  t.same(env, { Http_Method: 'POST', Http_Path: '/p', Http_Query: 'a=1', Http_Content_Type: 'text/plain', Http_X_Call_Id: '1' });
});

t.test('command lines run directly unless they need a shell', async (t) => {
  const argv = (command: string) => commandArgv(buildFunctionConfig('f', { runtime: 'exec', command }), '/code');
  t.same(argv('cat'), ['cat']);
  t.same(argv('wc -c'), ['wc', '-c']);
  t.same(argv('sh -c "echo $X"'), ['/bin/sh', '-c', 'sh -c "echo $X"']);
  t.same(argv('a | b'), ['/bin/sh', '-c', 'a | b']);
  t.same(commandArgv(buildFunctionConfig('f', { runtime: 'exec', file: 'run.sh' }), '/code'), ['/code/run.sh']);
});
