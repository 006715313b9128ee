import t from 'tap';
import { parseGatewayUrl, gatewayKey, checkToken, parseTokens, renderTokens, replyError, remoteTarget } from '../../src/faassctl/client';
import { settingsHeader, renderView } from '../../src/faassctl/remote';

const messageOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

t.test('gateway URLs', async (t) => {
  t.equal(gatewayKey(parseGatewayUrl('http://127.0.0.1:8080/')), 'http://127.0.0.1:8080', 'a trailing slash is dropped');
  t.equal(gatewayKey(parseGatewayUrl('https://LOCALHOST:8443/faass//')), 'https://localhost:8443/faass', 'host lowercased, a path prefix kept');
  const target = remoteTarget(parseGatewayUrl('https://[::1]:8443/p/'), undefined, undefined);
  t.same([target.host, target.port, target.basePath, target.https], ['::1', 8443, '/p', true], 'an IPv6 literal, port and prefix');
  t.equal(remoteTarget(parseGatewayUrl('http://localhost'), undefined, undefined).port, 80, 'default ports');
  for (const [url, re] of [
    ['ftp://h', /not http: or https:/],
    ['http://u:pw@h', /must not carry a user or password/],
    ['http://h/?a=1', /query or fragment/],
    ['localhost:8080', /not http: or https:/],
    ['', /Invalid gateway URL/],
  ] as [string, RegExp][]) t.throws(() => parseGatewayUrl(url), re, JSON.stringify(url));
  t.notMatch(messageOf(() => parseGatewayUrl('http://root:s3cret@h')), /s3cret/, 'the password is not repeated');
});

t.test('tokens', async (t) => {
  t.equal(checkToken('root.abc-_', '--token'), 'root.abc-_');
  for (const bad of ['a b', 'a\nb', 'grüß', '']) t.throws(() => checkToken(bad, 'stdin'), /from stdin has characters/, JSON.stringify(bad));
  t.notMatch(messageOf(() => checkToken('sec ret', 'x')), /sec ret/, 'the token is not shown');
  const file = renderTokens(new Map([['https://b:1', 'b.2'], ['http://a:1', 'a.1']]));
  t.match(file, /^# faassctl login/, 'a comment on top');
  t.same([...parseTokens(file)], [['http://a:1', 'a.1'], ['https://b:1', 'b.2']], 'round trip, sorted');
  t.same([...parseTokens('# c\n\nhttp://x/ x.1\ngarbage line with three\n  http://y y.2  \n')], [['http://x', 'x.1'], ['http://y', 'y.2']], 'comments, blanks and lines faassctl did not write are skipped');
});

t.test('error replies', async (t) => {
  const target = remoteTarget(parseGatewayUrl('http://h:1'), undefined, undefined);
  const reply = (status: number, body: string) => ({ status, headers: {}, body: Buffer.from(body) });
  const e = replyError(target, reply(404, '{"error":{"code":"FAASS_E_FUNCTION_NOT_FOUND","message":"No function named x"}}'));
  t.same([e.code, e.message, e.exitCode], ['FAASS_E_FUNCTION_NOT_FOUND', 'No function named x', 3], 'a faass error keeps its code and exit status');
  t.match(replyError(target, reply(401, '{"error":{"code":"FAASS_E_AUTH_REQUIRED","message":"m"}}')).message, /faassctl login/, 'a 401 without a token hints at login');
  const other = replyError(target, reply(502, '<html>\n<body>Bad Gateway</body>'));
  t.equal(other.code, 'FAASS_E_GATEWAY_UNREACHABLE', 'anything else: not a faass gateway');
  t.match(other.message, /HTTP 502 .*"<html>"/, 'with the status and the first line');
});

t.test('settings sent with code', async (t) => {
  const h = settingsHeader({ env: { G: 'grüß 🙂' }, command: './run.sh' });
  t.match(h, /^[\x20-\x7e]+$/, 'pure ASCII');
  t.same(JSON.parse(h), { env: { G: 'grüß 🙂' }, command: './run.sh' }, 'and the same JSON');
  t.throws(() => settingsHeader({ env: { BIG: 'x'.repeat(20000) } }), /too large to send with code/);
});

t.test('describe renders the view as the function file', async (t) => {
  const text = renderView({ name: 'f', kind: 'function', runtime: 'exec', command: './run.sh', timeout: 5, auth: ['a', 'b'], pass_authorization: false, env: { Z: '1', A: 'x y' }, url: '/function/f' });
  t.equal(text, '[function]\nruntime=exec\ncommand=./run.sh\ntimeout=5\nauth=a,b\n\n[env]\nA=x y\nZ=1\n');
  t.match(renderView({ name: 's', kind: 'service', runtime: 'exec', pass_authorization: true, auth: [] }), /^kind=service\n(.*\n)*pass_authorization=yes\n/m, 'a service says so; pass_authorization only when on');
});
