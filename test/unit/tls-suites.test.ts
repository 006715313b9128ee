// The gateway's TLS settings (src/gateway/tls-options.ts) on a real local TLS server: what a
// client that offers only a given suite gets, for an RSA and an ECDSA (faassctl tls
// self-signed's kind) key pair made by openssl(1).
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import * as https from 'node:https';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { tlsServerOptions } from '../../src/gateway/tls-options';

function keyPair(dir: string, kind: 'rsa' | 'ec'): { cert: Buffer; key: Buffer } {
  const key = path.join(dir, `${kind}.key`);
  const cert = path.join(dir, `${kind}.crt`);
  const newkey = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const r = spawnSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  return { cert: fs.readFileSync(cert), key: fs.readFileSync(key) };
}

async function serve(t: Test, pair: { cert: Buffer; key: Buffer }): Promise<number> {
  const server = https.createServer(tlsServerOptions(pair), (_req, res) => res.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as { port: number }).port;
}

// The handshake's outcome for a client offering only `ciphers` (TLS 1.2 unless said otherwise):
// the suite and protocol agreed, or the error.
function handshake(port: number, ciphers: string | undefined, maxVersion: tls.SecureVersion = 'TLSv1.2'): Promise<{ cipher: string; protocol: string } | { error: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion, ...(ciphers ? { ciphers } : {}) });
    s.once('secureConnect', () => {
      resolve({ cipher: s.getCipher().name, protocol: s.getProtocol() ?? '' });
      s.destroy();
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-tls-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

for (const [kind, sig] of [
  ['rsa', 'RSA'],
  ['ec', 'ECDSA'],
] as const) {
  t.test(`an ${kind === 'rsa' ? 'RSA' : 'ECDSA'} key pair`, async (t) => {
    const port = await serve(t, keyPair(dir, kind));
    const cbc = [`ECDHE-${sig}-AES128-SHA`, `ECDHE-${sig}-AES256-SHA`, `ECDHE-${sig}-AES128-SHA256`, `ECDHE-${sig}-AES256-SHA384`];
    // RSA key exchange: AEAD, but no forward secrecy (only an RSA pair can offer it at all).
    const noForwardSecrecy = kind === 'rsa' ? ['AES128-GCM-SHA256', 'AES256-GCM-SHA384'] : [];
    for (const suite of [...cbc, ...noForwardSecrecy]) t.match(await handshake(port, suite), { error: /SSL/ }, `TLS 1.2 with only ${suite} offered: refused`);
    for (const suite of [`ECDHE-${sig}-AES128-GCM-SHA256`, `ECDHE-${sig}-AES256-GCM-SHA384`, `ECDHE-${sig}-CHACHA20-POLY1305`]) {
      t.same(await handshake(port, suite), { cipher: suite, protocol: 'TLSv1.2' }, `TLS 1.2 with ${suite}: agreed`);
    }
    t.same(await handshake(port, undefined, 'TLSv1.3'), { cipher: 'TLS_AES_256_GCM_SHA384', protocol: 'TLSv1.3' }, 'TLS 1.3 as before, with its first suite');
  });
}
