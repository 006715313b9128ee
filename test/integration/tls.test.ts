// HTTPS through the real socket units: a self-signed pair from faassctl, on the main socket
// (plain HTTP off) and on a second named socket with HTTP redirected.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as https from 'node:https';
import * as http from 'node:http';
import * as tls from 'node:tls';
import { startSandbox, setupGateway, request, freePort } from '../support/sandbox';

function httpsGet(port: number, urlPath: string, ca: Buffer, body = 'x'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', ca, agent: false, headers: { 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// The suite a TLS 1.2 client offering only `ciphers` agrees on, or the handshake's error.
function tls12Handshake(port: number, ciphers: string, ca: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2', ciphers });
    s.once('secureConnect', () => {
      resolve(s.getCipher().name);
      s.destroy();
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`));
  });
}

t.test('TLS', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 1);
  t.equal((await sb.faassctl('deploy', 'echo', '--command', 'cat', '--idle', '1')).code, 0);

  const made = await sb.faassctl('tls', 'self-signed', '--days', '2');
  t.equal(made.code, 0, `tls self-signed ${made.stderr}`);
  const tlsDir = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'tls');
  const ca = fs.readFileSync(path.join(tlsDir, 'cert.pem'));
  t.equal(fs.statSync(path.join(tlsDir, 'key.pem')).mode & 0o777, 0o600, 'the key is private');
  t.match(fs.readFileSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'faass.conf'), 'utf8'), /tls_cert\s*=.*cert\.pem/);

  t.test('HTTPS on the main socket', async (t) => {
    const r = await httpsGet(sb.port, '/function/echo', ca, 'over tls');
    t.equal(r.status, 200, 'a call over HTTPS, the certificate verified against the pair');
    t.equal(r.body, 'over tls');
    t.equal((await httpsGet(sb.port, '/healthz', ca)).status, 200);
    const plain = await request(sb.port, '/healthz', { method: 'GET', timeoutMs: 5000 }).then(
      (x) => x.status,
      (e: Error) => e.message,
    );
    t.not(plain, 200, `plain HTTP is off on it (${plain})`);
    await t.rejects(httpsGet(sb.port, '/healthz', Buffer.from('')), 'an unverified certificate is refused by a strict client');
  });

  t.test('TLS 1.2: only suites with forward secrecy and authenticated encryption', async (t) => {
    for (const suite of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256']) t.match(await tls12Handshake(sb.port, suite, ca), /^error .*SSL/, `a client offering only ${suite} (CBC) is refused`);
    t.equal(await tls12Handshake(sb.port, 'ECDHE-ECDSA-AES128-GCM-SHA256', ca), 'ECDHE-ECDSA-AES128-GCM-SHA256', 'one offering ECDHE-ECDSA-AES128-GCM-SHA256 is served');
  });

  t.test('HTTPS on a second socket, HTTP redirected', async (t) => {
    const tlsPort = await freePort();
    const init = await sb.faassctl('init', '--tls-listen', `127.0.0.1:${tlsPort}`, '--http-redirect');
    t.equal(init.code, 0, `init --tls-listen ${init.stderr}`);
    t.equal((await sb.systemctl('is-active', 'faass-gateway-https.socket')).stdout.trim(), 'active', 'init enabled and started the HTTPS socket (no generate-units needed)');
    const r = await httpsGet(tlsPort, '/function/echo', ca, 'second socket');
    t.equal(r.body, 'second socket', 'HTTPS on tls_listen');
    const redirect = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: sb.port, path: '/function/echo?x=1', agent: false }, resolve).on('error', reject));
    redirect.resume();
    t.equal(redirect.statusCode, 308, 'plain HTTP is redirected');
    t.equal(redirect.headers.location, `https://127.0.0.1:${tlsPort}/function/echo?x=1`, 'to the same path over HTTPS');
    const st = await sb.run('ss', ['-Hltn', `sport = :${tlsPort}`]);
    t.match(st.stdout, /LISTEN/, 'systemd holds the HTTPS socket');
    const bad = await sb.faassctl('init', '--http-redirect');
    t.equal((await sb.faassctl('init', '--tls-listen', `127.0.0.1:${sb.port}`)).code, 2, 'tls_listen equal to listen is refused');
    t.equal(bad.code, 0, 'redirect stays on with tls_listen set');
    t.equal((await sb.faassctl('init', '--tls-listen', '')).code, 0, 'tls_listen off');
    t.not((await sb.systemctl('is-active', 'faass-gateway-https.socket')).stdout.trim(), 'active', 'the HTTPS socket is stopped with it');
    t.equal((await httpsGet(sb.port, '/function/echo', ca, 'back')).body, 'back', 'and HTTPS is on the main socket again');
  });
});
