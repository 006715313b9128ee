// The API's upload checks (issue 11 item 17) in-process: every refusal is a FaassError the API
// answers 400, not a crash (500); staging left by a dead API is removed, one in use is not; the
// 100 Continue waits for the body to be wanted.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { unpackTarGz, MAX_ENTRIES, removeStaleUploads, uploadsDir, newStaging } from '../../src/api/upload';
import { FaassError } from '../../src/core/errors';
import { continueWhenRead, readBody, sendFaassError } from '../../src/core/http-util';
import { resolvePaths } from '../../src/core/paths';
import { rawTarGz, RawEntry } from '../support/raw-tar';

function tempDir(t: { teardown(f: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-upload-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// The error unpacking gives, as the API would see it: its code, or the name of what was thrown.
async function refusal(t: { teardown(f: () => void): void }, entries: RawEntry[]): Promise<string> {
  try {
    await unpackTarGz(rawTarGz(entries), tempDir(t));
    return 'accepted';
  } catch (e) {
    return e instanceof FaassError ? `${e.code}: ${e.message}` : `${(e as Error).name}: ${(e as Error).message}`;
  }
}

t.test('refusals are 400s that say why', async (t) => {
  t.match(await refusal(t, [{ name: 'd/', type: '5' }, { name: 'l', type: '2', linkname: 'd' }, { name: 'l/handler.js', body: 'x' }]), /^FAASS_E_UPLOAD_INVALID: .*under the link "l"/, 'a file under a link');
  t.match(await refusal(t, [{ name: 'handler.js', body: 'x', mode: 0o6777 }]), /^FAASS_E_UPLOAD_INVALID: .*6777 has the setuid, setgid or sticky bit/, 'setuid and setgid');
  t.match(await refusal(t, [{ name: 'd/', type: '5', mode: 0o1777 }, { name: 'handler.js', body: 'x' }]), /^FAASS_E_UPLOAD_INVALID: .*sticky/, 'a sticky directory');
  const many = Array.from({ length: MAX_ENTRIES + 1 }, (_, i): RawEntry => ({ name: `f${i}` }));
  t.match(await refusal(t, many), new RegExp(`^FAASS_E_UPLOAD_INVALID: The archive holds more than ${MAX_ENTRIES} entries`), `${MAX_ENTRIES + 1} entries`);
});

t.test('a link inside the tree is unpacked', async (t) => {
  const dir = tempDir(t);
  t.equal(await unpackTarGz(rawTarGz([{ name: 'real.js', body: 'x' }, { name: 'handler.js', type: '2', linkname: 'real.js' }]), dir), 1);
  t.equal(fs.readlinkSync(path.join(dir, 'handler.js')), 'real.js');
});

t.test('staging left by an API that died is removed at the next start; one in use is not', async (t) => {
  const dir = tempDir(t);
  const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: `${dir}/config`, XDG_DATA_HOME: `${dir}/data`, XDG_STATE_HOME: `${dir}/state`, XDG_RUNTIME_DIR: `${dir}/run` });
  t.same(removeStaleUploads(paths), [], 'no uploads directory yet: nothing to do');
  const mine = path.basename(newStaging(paths, 'fn'));
  t.match(mine, new RegExp(`^half-${process.pid}-fn-`), 'a staging directory names its process');
  t.equal((fs.statSync(uploadsDir(paths)).mode & 0o777).toString(8), '700', 'inside a private uploads directory');
  for (const n of ['half-111-fn-aaaaaa', 'half-222-fn-bbbbbb', 'notes']) fs.mkdirSync(path.join(uploadsDir(paths), n, 'lib'), { recursive: true });
  const removed = removeStaleUploads(paths, (pid) => pid === 222);
  t.same(removed.sort(), [mine, 'half-111-fn-aaaaaa'].sort(), "a dead process's and our own PID's (a process before us had it) go");
  t.same(fs.readdirSync(uploadsDir(paths)).sort(), ['half-222-fn-bbbbbb', 'notes'], "a live process's and what faass did not name stay");
});

t.test('Expect: 100-continue: the 100 only when the body is read within its limit', async (t) => {
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== 'yes') return sendFaassError(res, new FaassError('FAASS_E_AUTH_REQUIRED', 'no'));
    readBody(req, 100).then(
      (b) => res.end(`got ${b.length}`),
      (e: Error) => (e instanceof FaassError ? sendFaassError(res, e) : res.destroy()), // the client may hang up
    );
  });
  continueWhenRead(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const firstLine = (length: number, auth: string) =>
    new Promise<string>((resolve, reject) => {
      const s = net.connect((server.address() as AddressInfo).port, '127.0.0.1', () => s.write(`PUT / HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`));
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.includes('\r\n')) s.destroy();
      });
      s.on('error', reject);
      s.on('close', () => resolve(got.split('\r\n')[0]));
    });
  t.match(await firstLine(101, 'yes'), /^HTTP\/1\.1 413 /, 'over the limit: 413 first');
  t.match(await firstLine(5, 'no'), /^HTTP\/1\.1 401 /, 'refused before the body is read: no 100');
  t.match(await firstLine(5, 'yes'), /^HTTP\/1\.1 100 /, 'within it: 100 Continue');
});
