// Who may call a function survives a redeploy, and an unreadable function file fails closed:
// faassctl deploy (in-process, with no user manager reachable) against temporary XDG dirs.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, functionConfPath } from '../../src/core/paths';
import { deploy } from '../../src/faassctl/deploy';
import { loadFunctionConfig } from '../../src/functions/function-config';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiHandler } from '../../src/api/handlers';
import { FaassError } from '../../src/core/errors';
import { managerlessPaths } from '../support/temp-paths';

const tempPaths = (t: { teardown(f: () => void): void }): Paths => managerlessPaths(t, 'access');

const quietly = async <T>(f: () => Promise<T>): Promise<T> => {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await f();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
};

const codeOf = async (f: () => Promise<unknown>) => {
  try {
    await quietly(f);
    return 'no error';
  } catch (e) {
    return e instanceof FaassError ? e.code : String(e);
  }
};

t.test('a redeploy without --auth keeps who may call the function', async (t) => {
  const paths = tempPaths(t);
  await quietly(() => deploy(paths, { name: 'report', command: 'cat', auth: 'ci' }));
  t.same(loadFunctionConfig(paths, 'report').auth, ['ci']);
  await quietly(() => deploy(paths, { name: 'report', command: 'tr a-z A-Z' }));
  t.same(loadFunctionConfig(paths, 'report').auth, ['ci'], 'still only ci');
  t.equal(loadFunctionConfig(paths, 'report').command, 'tr a-z A-Z', 'and the update applied');
  await quietly(() => deploy(paths, { name: 'report', command: 'cat', public: true }));
  t.same(loadFunctionConfig(paths, 'report').auth, [], '--public opens it');
  t.equal(await codeOf(() => deploy(paths, { name: 'report', command: 'cat', public: true, auth: 'ci' })), 'FAASS_E_USAGE', '--public with --auth is refused');
});

t.test('a redeploy over an unreadable function file is refused unless it says who may call', async (t) => {
  const paths = tempPaths(t);
  await quietly(() => deploy(paths, { name: 'report', command: 'cat', auth: 'ci' }));
  const file = functionConfPath(paths, 'report');
  const broken = fs.readFileSync(file, 'utf8').replace(/^timeout=.*$/m, 'timeout=soon') + 'timeout=soon\n';
  fs.writeFileSync(file, broken);
  let message = '';
  try {
    await quietly(() => deploy(paths, { name: 'report', command: 'cat' }));
  } catch (e) {
    t.equal((e as FaassError).code, 'FAASS_E_ACCESS_UNKNOWN', 'refused with its own code');
    message = (e as Error).message;
  }
  t.match(message, file, 'the message names the file');
  t.match(message, /--auth NAME.*--public/, 'and the way out');
  t.equal(fs.readFileSync(file, 'utf8'), broken, 'the file is left as it was: nothing half-written');

  fs.rmSync(file);
  fs.mkdirSync(file); // unreadable as a file (EISDIR), not absent
  t.equal(await codeOf(() => deploy(paths, { name: 'report', command: 'cat' })), 'FAASS_E_ACCESS_UNKNOWN', 'an unreadable file too');
  fs.rmdirSync(file);
  fs.writeFileSync(file, broken);

  await quietly(() => deploy(paths, { name: 'report', command: 'cat', auth: 'ci,ops' }));
  t.same(loadFunctionConfig(paths, 'report').auth, ['ci', 'ops'], '--auth replaces the broken file');
  fs.writeFileSync(file, broken);
  await quietly(() => deploy(paths, { name: 'report', command: 'cat', public: true }));
  t.same(loadFunctionConfig(paths, 'report').auth, [], 'so does an explicit --public');
});

t.test('the API fails closed the same way: PUT over a broken file is 409 until it says', async (t) => {
  const paths = tempPaths(t);
  await quietly(() => deploy(paths, { name: 'x', command: 'cat', auth: 'ci' }));
  const file = functionConfPath(paths, 'x');
  fs.writeFileSync(file, '[function]\nruntime=exec\ncommand=cat\ntimeout=soon\n');
  const server = http.createServer(apiHandler(paths));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const put = (body: object) =>
    new Promise<{ status: number; code?: string; message?: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/system/functions', method: 'PUT', headers: { 'content-type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const j = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { error?: { code: string; message: string } };
          resolve({ status: res.statusCode ?? 0, code: j.error?.code, message: j.error?.message });
        });
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  const refused = await quietly(() => put({ name: 'x', command: 'tr a-z A-Z' }));
  t.match(refused, { status: 409, code: 'FAASS_E_ACCESS_UNKNOWN', message: /"auth"/ }, 'an update that does not say who may call is refused');
  t.match(fs.readFileSync(file, 'utf8'), /timeout=soon/, 'and the file is untouched');
  const said = await quietly(() => put({ name: 'x', command: 'tr a-z A-Z', auth: 'ci' }));
  t.equal(said.status, 200, 'one that says goes through');
  t.same(loadFunctionConfig(paths, 'x').auth, ['ci']);
});
