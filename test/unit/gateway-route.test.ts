import t from 'tap';
import type * as http from 'node:http';
import { routeOf, isPassive, Destination } from '../../src/gateway/route';

const on = { metrics: true };
const fn = (name: string, path: string): Destination => ({ to: 'function', name, path });
// A refused destination as the client sees it: the code, and the status the catalog gives it.
const refused = (d: Destination) => (d.to === 'nowhere' ? { code: d.error.code, status: d.error.status } : d);

t.test('a function by /function/NAME[/rest], /lambda/NAME[/rest] or X-Function', async (t) => {
  t.same(routeOf('/function/hello', undefined, on), fn('hello', '/'));
  t.same(routeOf('/function/hello/', undefined, on), fn('hello', '/'));
  t.same(routeOf('/function/hello/a/b?x=1&y', undefined, on), fn('hello', '/a/b?x=1&y'));
  t.same(routeOf('/function/hello?x=1', undefined, on), fn('hello', '/?x=1'), 'the query goes to the function');
  t.same(routeOf('/lambda/hello', undefined, on), fn('hello', '/'));
  t.same(routeOf('/lambda/hello/deep/er', undefined, on), fn('hello', '/deep/er'));
  t.same(routeOf('/any/path?q', 'hello', on), fn('hello', '/any/path?q'), 'X-Function: the whole URL is the path');
  t.same(routeOf('/', ' hello ', on), fn('hello', '/'), 'the header value is trimmed');
  t.same(routeOf('/x', ['first', 'second'], on), fn('first', '/x'), 'a repeated header: the first counts');
  t.same(routeOf('/function/path-name', 'header-name', on), fn('path-name', '/'), 'the path wins over the header');
});

t.test("the gateway's own endpoints and the API come first", async (t) => {
  t.same(routeOf('/healthz', undefined, on), { to: 'health' });
  t.same(routeOf('/healthz?x', 'fn', on), { to: 'health' });
  t.same(routeOf('/metrics', 'fn', on), { to: 'metrics' });
  t.same(routeOf('/metrics', 'fn', { metrics: false }), fn('fn', '/metrics'), 'metrics off: /metrics is a path like any other');
  t.same(refused(routeOf('/metrics', undefined, { metrics: false })), { code: 'FAASS_E_ROUTE_MISSING', status: 404 });
  for (const url of ['/system', '/system/functions', '/api', '/api/x?y']) t.same(routeOf(url, 'fn', on), { to: 'api' }, url);
  t.same(refused(routeOf('/systemd', undefined, on)), { code: 'FAASS_E_ROUTE_MISSING', status: 404 }, 'only /system and below');
  t.same(routeOf('/healthzz', 'fn', on), fn('fn', '/healthzz'), 'only /healthz itself');
});

t.test('unknown routes: 404 FAASS_E_ROUTE_MISSING', async (t) => {
  for (const url of ['/', '/other', '/functions/x', '/function', '/lambda', '/Function/x', '']) {
    t.same(refused(routeOf(url, undefined, on)), { code: 'FAASS_E_ROUTE_MISSING', status: 404 }, JSON.stringify(url));
  }
});

t.test('bad names and traversal attempts: 400 FAASS_E_NAME_INVALID, never a path', async (t) => {
  const bad = { code: 'FAASS_E_NAME_INVALID', status: 400 };
  const urls = ['/function/', '/function//x', '/function/Hello', '/function/a_b', '/function/-a', '/function/a-', `/function/${'a'.repeat(64)}`, '/function/..', '/function/.', '/function/%2e%2e', '/function/%2E%2E/etc', '/function/a%2Fb', '/function/..%2F..%2Fetc%2Fpasswd', '/lambda/%00', '/function/%zz', '/function/a%20b'];
  for (const url of urls) t.same(refused(routeOf(url, undefined, on)), bad, url);
  for (const header of ['', '../x', '..', 'a/b', 'A', 'x\u0000']) t.same(refused(routeOf('/', header, on)), bad, `X-Function: ${JSON.stringify(header)}`);
  const long = routeOf(`/function/${'A'.repeat(500)}`, undefined, on);
  t.ok(long.to === 'nowhere' && long.error.message.length < 200, 'the name is cut in the message');
  t.same(routeOf(`/function/${'a'.repeat(63)}`, undefined, on), fn('a'.repeat(63), '/'), '63 characters is a name');
});

t.test('passive requests: GET or HEAD of /metrics and /healthz only', async (t) => {
  const req = (method: string, url: string, headers: http.IncomingHttpHeaders = {}) => ({ method, url, headers }) as http.IncomingMessage;
  const on = { metrics: true };
  t.ok(isPassive(req('GET', '/metrics'), on));
  t.ok(isPassive(req('HEAD', '/healthz?x'), on));
  t.notOk(isPassive(req('POST', '/metrics'), on));
  t.notOk(isPassive(req('GET', '/function/metrics'), on));
  t.notOk(isPassive(req('GET', '/metrics/x'), on));
  t.ok(isPassive(req('GET', '/metrics', { 'x-function': 'echo' }), on), 'a scrape, X-Function or not');
  t.notOk(isPassive(req('GET', '/metrics', { 'x-function': 'echo' }), { metrics: false }), 'with metrics off, a call to echo: it keeps the gateway up');
  t.notOk(isPassive(req('GET', '/metrics'), { metrics: false }), 'with metrics off, not a scrape');
});
