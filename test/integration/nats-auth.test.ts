// NATS authentication (issue 14): a bridge given a token, a user name and password, or a .creds
// file connects to a nats-server that demands it (Debian's, JetStream on a loopback port, ended by
// its PID) and delivers; one given a wrong secret delivers nothing, says why in one journal line
// and is started again by systemd. The secret is in faass's private copy (0600) and nowhere else a
// user or another process could look: not the unit file, `systemctl show`, the bridge's command
// line, `trigger ls` (text and JSON), the journal or an error. Bad options: exit 2, one line,
// nothing written. The .creds file is made with the nkeys the NATS client bundles (no nsc here): a
// server outside operator mode checks its NKey's signature of the nonce, not its JWT.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect, nkeys, ConnectionOptions, NatsConnection } from 'nats';
import { sideDir, testUid } from '../support/side-dir';
import { runNatsServer } from '../support/nats-server';
import { startSandbox, setupGateway, writeFixture, waitFor, freePort, TEST_USER, Sandbox } from '../support/sandbox';
import { sandboxJournal } from '../support/journal';


// nats-server with JetStream and the given authorization block, its own store, a free loopback
// port; a stream ORDERS on orders.>. Ended by its PID. reauthorize: its config rewritten with
// another authorization block and reloaded (SIGHUP), as an operator changing a secret would.
async function startNats(t: { teardown(f: () => unknown): void }, dir: string, name: string, authorization: string, client: Partial<ConnectionOptions>): Promise<{ url: string; nc: NatsConnection; reauthorize(a: string): void }> {
  const port = await freePort();
  const home = path.join(dir, name);
  fs.mkdirSync(home);
  const conf = path.join(home, 'server.conf');
  const write = (a: string) => fs.writeFileSync(conf, `listen: 127.0.0.1:${port}\nauthorization ${a}\njetstream { store_dir: ${JSON.stringify(path.join(home, 'store'))} }\n`);
  write(authorization);
  const server = await runNatsServer(t, ['-c', conf], `nats-server ${name}`);
  const url = `nats://127.0.0.1:${port}`;
  const nc = await connect({ servers: url, ...client });
  t.teardown(() => nc.close());
  await (await nc.jetstreamManager()).streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
  const reauthorize = (a: string) => {
    write(a);
    if (server.pid) process.kill(server.pid, 'SIGHUP');
  };
  return { url, nc, reauthorize };
}

// A function that appends each call's body to a log in a directory its unit may write (a drop-in).
async function deploySink(sb: Sandbox, name: string): Promise<string> {
  const dir = await sideDir(sb, name);
  const log = path.join(dir, 'handed');
  const script = writeFixture(sb, `${name}.sh`, `#!/bin/sh\ncat >> ${log}\necho >> ${log}\n`, 0o755);
  const r = await sb.faassctl('deploy', name, '--runtime', 'exec', '--from-file', script);
  if (r.code !== 0) throw new Error(`deploy ${name}: ${r.stderr}`);
  return log;
}

const handed = (log: string): string[] => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);

// A secret file of the user's (0600, theirs), as a user keeps one.
function secretFile(sb: Sandbox, name: string, text: string): string {
  const file = writeFixture(sb, name, text, 0o600);
  fs.chownSync(file, testUid(), -1);
  return file;
}

function credsText(seed: string): string {
  const jwt = `${Buffer.from('{"typ":"JWT","alg":"ed25519-nkey"}').toString('base64url')}.${Buffer.from('{"sub":"faass-test"}').toString('base64url')}.c2ln`;
  return `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`;
}

t.test('NATS authentication', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  const token = `tok-${randomBytes(12).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const user = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const byToken = await startNats(t, sb.dir, 'by-token', `{ token: ${JSON.stringify(token)} }`, { token });
  const byUser = await startNats(t, sb.dir, 'by-user', `{ users = [ { user: alice, password: ${JSON.stringify(password)} }, { nkey: ${user.getPublicKey()} } ] }`, { user: 'alice', pass: password });
  const secrets = [token, password, seed];
  await setupGateway(sb, 60);
  const log = await deploySink(sb, 'sink');
  const unitDir = path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd', 'user');
  const secretDir = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'nats', 'sink');
  // This sandbox's lines only: the journal holds other runs' too, of units of the same names.
  const journal = (unit: string) => sandboxJournal(sb, `--user-unit=${unit}`);
  const files = {
    token: secretFile(sb, 'token', `${token}\n`),
    wrongToken: secretFile(sb, 'wrong-token', 'tok-not-the-one\n'),
    password: secretFile(sb, 'password', password),
    wrongPassword: secretFile(sb, 'wrong-password', 'pw-not-the-one'),
    creds: secretFile(sb, 'user.creds', credsText(seed)),
    empty: secretFile(sb, 'empty', ''),
    badCreds: secretFile(sb, 'bad.creds', `${token}\n`),
  };
  const add = (id: string, url: string, ...auth: string[]) => sb.faassctl('trigger', 'add', 'sink', '--nats', url, '--subject', 'orders.>', '--stream', 'ORDERS', '--id', id, ...auth);

  // Everything a user (or any process of theirs) can read about a bridge: none holds a secret.
  async function noSecretShown(t: Test, id: string): Promise<void> {
    const unit = `faass-fn-sink-at-${id}.service`;
    const pid = Number((await sb.systemctl('show', unit, '-p', 'MainPID', '--value')).stdout.trim());
    const places: [string, string][] = [
      ['the unit file', fs.readFileSync(path.join(unitDir, unit), 'utf8')],
      ['systemctl --user show', (await sb.systemctl('show', unit)).stdout],
      ['systemctl --user status', (await sb.systemctl('status', '--no-pager', '-n', '0', unit)).stdout],
      ["the bridge's command line", pid > 0 ? fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') : ''],
      ['trigger ls', (await sb.faassctl('trigger', 'ls', 'sink')).stdout],
      ['trigger ls --json', (await sb.faassctl('trigger', 'ls', 'sink', '--json')).stdout],
      ['its journal', await journal(unit)],
      ['the triggers file', fs.readFileSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'functions', 'sink.schedules'), 'utf8')],
    ];
    for (const [where, text] of places) for (const s of secrets) t.notOk(text.includes(s), `${id}: no secret in ${where}`);
  }

  t.test('bad options: exit 2, one line without the secret, nothing written', async (t) => {
    for (const [args, why] of [
      [['--nats-token-file', path.join(sb.dir, 'none')], /--nats-token-file .*none: no such file \(FAASS_E_FILE_MISSING\)\n$/],
      [['--nats-token-file', files.empty], /--nats-token-file .*empty: the file is empty \(FAASS_E_CONFIG_INVALID\)\n$/],
      [['--nats-user', 'alice'], /--nats-user U needs --nats-password-file FILE .*\(FAASS_E_USAGE\)\n$/],
      [['--nats-token-file', files.token, '--nats-creds', files.creds], /Give one way to authenticate to NATS, not --nats-creds and --nats-token-file \(FAASS_E_USAGE\)\n$/],
      [['--nats-creds', files.badCreds], /--nats-creds: not a NATS credentials file .*\(FAASS_E_CONFIG_INVALID\)\n$/],
    ] as const) {
      const r = await add('x', byToken.url, ...args);
      t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
      t.match(r.stderr, why);
      t.equal(r.stderr.split('\n').length, 2, 'one line');
      for (const s of secrets) t.notOk(r.stderr.includes(s), 'no secret in it');
    }
    const r = await sb.faassctl('trigger', 'add', 'sink', '--subject', 'a', '--nats-token-file', files.token);
    t.match(r.stderr, /go with --nats URL \(FAASS_E_USAGE\)\n$/, 'and none without --nats');
    t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'functions', 'sink.schedules')), 'no triggers file');
    t.notOk(fs.existsSync(secretDir), 'no secret copied');
  });

  t.test('a token: the right one delivers, shown as auth token and nowhere in full', async (t) => {
    const r = await add('tok', byToken.url, '--nats-token-file', files.token);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /connecting with a token/);
    const copy = path.join(secretDir, 'tok.secret');
    t.equal(fs.statSync(copy).mode & 0o777, 0o600, "faass's copy is 0600");
    t.equal(fs.readFileSync(copy, 'utf8'), token, 'the token alone');
    await byToken.nc.jetstream().publish('orders.new', 'by-token');
    await waitFor('the message delivered', () => handed(log).includes('by-token'), 60000);
    t.match((await sb.faassctl('trigger', 'ls', 'sink')).stdout, /\s+AUTH\n.*faass-fn-sink-at-tok\.service\s+token\n/, 'trigger ls: AUTH token');
    await noSecretShown(t, 'tok');
  });

  t.test('a wrong token: nothing delivered, one clear line, started again', async (t) => {
    const unit = 'faass-fn-sink-at-badtok.service';
    t.equal((await add('badtok', byToken.url, '--nats-token-file', files.wrongToken, '--durable', 'faass-badtok')).code, 0);
    await waitFor('the refusal in its journal, twice (started again)', async () => ((await journal(unit)).match(/refused its token \(AUTHORIZATION_VIOLATION/g) ?? []).length >= 2, 60000);
    t.match(await journal(unit), /nats=badtok function=sink: the NATS server at nats:\/\/127\.0\.0\.1:\d+ refused its token \(AUTHORIZATION_VIOLATION: Authorization Violation\); exiting, systemd starts the bridge again\n/);
    t.ok(Number((await sb.systemctl('show', unit, '-p', 'NRestarts', '--value')).stdout.trim()) >= 1, 'restarted by its unit');
    const jsm = await byToken.nc.jetstreamManager();
    t.notOk(await jsm.consumers.info('ORDERS', 'faass-badtok').then(() => true, () => false), 'it never got as far as a consumer, so no message');
    t.notOk((await journal(unit)).includes('tok-not-the-one'), 'the wrong secret is not in the line either');
    await noSecretShown(t, 'badtok');
    t.equal((await sb.faassctl('trigger', 'rm', 'sink', 'badtok')).code, 0);
    t.notOk(fs.existsSync(path.join(secretDir, 'badtok.secret')), 'trigger rm removes its copy');
    t.ok(fs.existsSync(path.join(secretDir, 'tok.secret')), "and only its");
  });

  t.test("the server's token changed under a running bridge: one line, an exit, started again", async (t) => {
    const unit = 'faass-fn-sink-at-tok.service';
    const restarts = async () => Number((await sb.systemctl('show', unit, '-p', 'NRestarts', '--value')).stdout.trim());
    const before = await restarts();
    byToken.reauthorize(`{ token: "tok-changed-${randomBytes(6).toString('hex')}" }`);
    // The server closes connections its new config refuses; the client tries again, is refused
    // again and gives up: the bridge says so and exits.
    await waitFor('the refusal in its journal', async () => /nats=tok function=sink: the NATS server at .* refused its token \(AUTHORIZATION_VIOLATION/.test(await journal(unit)), 60000);
    await waitFor('systemd starts it again', async () => (await restarts()) > before, 60000);
    t.notMatch(await journal(unit), /NATS bridge failed|trying again/, 'the refusal is the one line of its going, no retry loop on a closed connection');
    await noSecretShown(t, 'tok');
  });

  t.test('a user and password, and a .creds file: each delivers; a wrong password does not', async (t) => {
    t.equal((await add('pw', byUser.url, '--nats-user', 'alice', '--nats-password-file', files.password)).code, 0);
    t.equal((await add('creds', byUser.url, '--nats-creds', files.creds, '--durable', 'faass-creds')).code, 0);
    await byUser.nc.jetstream().publish('orders.new', 'by-user');
    // Two durable consumers: each bridge queues the message once.
    await waitFor('delivered by both bridges', () => handed(log).filter((l) => l === 'by-user').length === 2, 60000);
    const ls = (await sb.faassctl('trigger', 'ls', 'sink')).stdout;
    t.match(ls, /faass-fn-sink-at-pw\.service\s+user:alice\n/);
    t.match(ls, /faass-fn-sink-at-creds\.service\s+creds\n/);
    await noSecretShown(t, 'pw');
    await noSecretShown(t, 'creds');
    const unit = 'faass-fn-sink-at-badpw.service';
    t.equal((await add('badpw', byUser.url, '--nats-user', 'alice', '--nats-password-file', files.wrongPassword)).code, 0);
    await waitFor('the refusal in its journal', async () => /refused its user name and password for user alice \(AUTHORIZATION_VIOLATION/.test(await journal(unit)), 60000);
    t.notOk((await journal(unit)).includes('pw-not-the-one'), 'no password in the line');
  });

  t.test('delete removes every copy', async (t) => {
    t.equal((await sb.faassctl('delete', 'sink', '--discard')).code, 0);
    t.notOk(fs.existsSync(secretDir), 'no secret left');
  });
});
