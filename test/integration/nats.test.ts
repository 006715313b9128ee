// NATS bridge (issue 14): a function with a --nats trigger gets a bridge unit that consumes a
// JetStream durable consumer of a real nats-server (Debian's, started here with JetStream on a
// loopback port) and queues one asynchronous call per message, acked once queued. N messages with
// the bridge SIGKILLed mid-way (systemd restarts it): every message delivered, none lost, a
// message twice only if it was in flight at the kill. Its throughput is measured next to
// POST /async-function/NAME in the same run. As an ordinary user, as faass runs on a real host.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect, headers as natsHeaders, NatsConnection, JetStreamManager, ConsumerInfo } from 'nats';
import { sideDir, testUid } from '../support/side-dir';
import { runNatsServer } from '../support/nats-server';
import { startSandbox, setupGateway, writeFixture, waitFor, freePort, load, TEST_USER, Sandbox } from '../support/sandbox';

const N = Number(process.env.FAASS_NATS_MESSAGES ?? 1000);
const M = Number(process.env.FAASS_NATS_BENCH ?? 500); // for the throughput, each way

// nats-server with JetStream, its own store, a free loopback port; ended by its PID.
async function startNats(t: { teardown(f: () => unknown): void }, dir: string): Promise<{ url: string; nc: NatsConnection }> {
  const port = await freePort();
  const store = path.join(dir, 'nats-store');
  fs.mkdirSync(store);
  await runNatsServer(t, ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(port)]);
  const url = `nats://127.0.0.1:${port}`;
  const nc = await connect({ servers: url });
  t.teardown(() => nc.close());
  return { url, nc };
}


// The function notes each call: its body, the message's sequence, the call id, trigger headers
// and a header the publisher set.
const script = (log: string) => `#!/bin/sh
body=$(cat)
id=$(printf %s "$Http_X_Call_Id" | tr -dc a-z0-9-)
echo "$body|$Http_X_Faass_Nats_Sequence|$id|$Http_X_Faass_Trigger|$Http_X_Faass_Trigger_Id|$Http_X_Faass_Nats_Subject|$Http_X_Source|$Http_Authorization" >> ${log}
`;

interface Delivery {
  body: string;
  seq: string;
  call: string;
  trigger: string;
  triggerId: string;
  subject: string;
  source: string;
  authorization: string;
}

const deliveries = (log: string): Delivery[] =>
  (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [body, seq, call, trigger, triggerId, subject, source, authorization] = l.split('|');
      return { body, seq, call, trigger, triggerId, subject, source, authorization };
    });

const mainPid = async (sb: Sandbox, unit: string) => Number((await sb.systemctl('show', unit, '-p', 'MainPID', '--value')).stdout.trim());

// Publishes messages first..last (their bodies name them) on orders.new, 50 awaited at a time.
async function publish(nc: NatsConnection, prefix: string, count: number): Promise<void> {
  const js = nc.jetstream();
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) => {
        const h = natsHeaders();
        h.set('X-Source', 'tests');
        h.set('Authorization', 'Bearer not-for-the-function');
        h.set('X-Faass-Trigger', 'forged');
        return js.publish('orders.new', `${prefix}-${i + j}`, { headers: h });
      }),
    );
  }
}

t.test('NATS bridge', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  const { url, nc } = await startNats(t, sb.dir);
  const jsm: JetStreamManager = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
  await setupGateway(sb, 60);
  const log = path.join(await sideDir(sb, 'sink'), 'handed');
  const unitFile = (u: string) => path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd', 'user', u);
  t.equal((await sb.faassctl('deploy', 'sink', '--runtime', 'exec', '--from-file', writeFixture(sb, 'sink.sh', script(log), 0o755), '--max-inflight', '16', '--idle', '10min')).code, 0);
  const unit = 'faass-fn-sink-at-bus.service';
  const consumer = (): Promise<ConsumerInfo> => jsm.consumers.info('ORDERS', 'faass-sink-bus');
  let deliveredAtKill = N; // what the killed bridge may have counted and not written

  t.test('bad --nats values are refused with a line, nothing written', async (t) => {
    for (const [args, why] of [
      [['--nats', 'http://127.0.0.1:4222', '--subject', 'a'], /the scheme is nats:\/\/ or tls:\/\/, not http:\/\/ \(FAASS_E_CONFIG_INVALID\)\n$/],
      [['--nats', 'nats://me:secret@127.0.0.1:4222', '--subject', 'a'], /credentials in the URL are not taken .*\(FAASS_E_CONFIG_INVALID\)\n$/],
      [['--nats', url], /--nats URL needs --subject S.*\(FAASS_E_USAGE\)\n$/],
      [['--nats', url, '--subject', 'a.>.b'], /Invalid --subject "a\.>\.b".*\(FAASS_E_CONFIG_INVALID\)\n$/],
      [['--subject', 'a'], /--subject, --durable, --stream and the --nats-\* options go with --nats URL \(FAASS_E_USAGE\)\n$/],
    ] as const) {
      const r = await sb.faassctl('trigger', 'add', 'sink', ...args);
      t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
      t.match(r.stderr, why);
      t.notMatch(r.stderr, /secret/, 'no secret in the error');
    }
    t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'functions', 'sink.schedules')), 'no triggers file');
  });

  t.test('trigger add --nats starts a bridge that holds a durable consumer', async (t) => {
    const r = await sb.faassctl('trigger', 'add', 'sink', '--nats', url, '--subject', 'orders.>', '--stream', 'ORDERS', '--id', 'bus');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /Added NATS bridge bus of sink: each message on orders\.> \(stream ORDERS, durable consumer faass-sink-bus\)/);
    t.ok(fs.existsSync(unitFile(unit)), 'the bridge unit is written');
    await waitFor('the durable consumer', () => consumer().then(() => true, () => false), 30000);
    t.equal((await sb.systemctl('is-active', unit)).stdout.trim(), 'active', 'the bridge runs');
    const ls = await sb.faassctl('trigger', 'ls', 'sink');
    t.match(ls.stdout, /FUNCTION\s+ID\s+NATS\s+SUBJECT\s+STREAM\s+DURABLE\s+UNIT\s+AUTH\nsink\s+bus\s+nats:\/\/127\.0\.0\.1:\d+\s+orders\.>\s+ORDERS\s+faass-sink-bus\s+faass-fn-sink-at-bus\.service\s+none\n/);
  });

  t.test(`${N} messages, the bridge SIGKILLed mid-way: each delivered, none lost`, async (t) => {
    const before = await mainPid(sb, unit);
    const publishing = publish(nc, 'm', N);
    await waitFor('40% acked', async () => (await consumer()).ack_floor.stream_seq >= N * 0.4, 60000);
    process.kill(before, 'SIGKILL');
    await waitFor('the bridge killed', async () => (await mainPid(sb, unit)) !== before);
    const atKill = await consumer(); // what the server had acked and delivered when it died
    await publishing;
    await waitFor('systemd restarts the bridge', async () => (await mainPid(sb, unit)) > 0 && (await mainPid(sb, unit)) !== before, 30000);
    await waitFor('every message acked', async () => {
      const c = await consumer();
      return c.ack_floor.stream_seq >= N && c.num_ack_pending === 0 && c.num_pending === 0;
    }, 120000);
    await waitFor('every message delivered', () => new Set(deliveries(log).map((d) => d.body)).size >= N, 120000);
    const got = deliveries(log);
    const bodies = new Set(got.map((d) => d.body));
    const missing = Array.from({ length: N }, (_, i) => `m-${i}`).filter((b) => !bodies.has(b));
    t.same(missing, [], 'none lost');
    const callsOf = new Map<string, Set<string>>();
    for (const d of got) callsOf.set(d.seq, (callsOf.get(d.seq) ?? new Set()).add(d.call));
    const twice = [...callsOf].filter(([, calls]) => calls.size > 1).map(([seq]) => Number(seq));
    const [floor, delivered] = [atKill.ack_floor.stream_seq, atKill.delivered.stream_seq];
    deliveredAtKill = delivered;
    t.same(twice.filter((s) => s <= floor || s > delivered), [], `a message queued twice only if in flight at the kill (acked to ${floor}, delivered to ${delivered})`);
    const one = got[0];
    t.same([one.trigger, one.triggerId, one.subject, one.source, one.authorization], ['nats', 'bus', 'orders.new', 'tests', ''], 'X-Faass-Trigger: nats (not the forged one), its id, the subject, a header of the message; no Authorization');
    t.comment(`kill: acked to ${floor}, delivered to ${delivered} at the kill; redelivered by NATS ${(await consumer()).num_redelivered}; queued twice ${twice.length}; delivered ${got.length} for ${N} messages`);
  });

  t.test(`throughput: ${M} messages through the bridge, ${M} calls to POST /async-function/sink`, async (t) => {
    const start = (await consumer()).ack_floor.stream_seq;
    let t0 = Date.now();
    await publish(nc, 'b', M);
    await waitFor('the bridge acked them', async () => (await consumer()).ack_floor.stream_seq >= start + M, 120000);
    const bridgeMs = Date.now() - t0;
    t0 = Date.now();
    const r = await load(sb.port, '/async-function/sink', M, 32, (x) => x.status === 202);
    const gatewayMs = Date.now() - t0;
    t.equal(r.ok, M, `every POST answered 202 (${JSON.stringify(r.failures.slice(0, 3))})`);
    const rate = (ms: number) => ((M * 1000) / ms).toFixed(0);
    t.comment(`queued durably: the bridge ${M} messages in ${bridgeMs} ms (${rate(bridgeMs)}/s, publish to last ack), the gateway ${M} calls in ${gatewayMs} ms (${rate(gatewayMs)}/s, 32 clients)`);
    await waitFor('all delivered', () => deliveries(log).length >= N + 2 * M, 120000);
  });

  t.test('trigger rm stops the bridge and removes its unit; delete leaves none', async (t) => {
    t.equal((await sb.faassctl('trigger', 'rm', 'sink', 'bus')).code, 0);
    t.notOk(fs.existsSync(unitFile(unit)), 'the unit file is gone');
    t.notOk(await mainPid(sb, unit), 'no bridge runs');
    // faass_nats_messages_bridged_total, as the stopped bridge wrote it into the dispatcher's file:
    // every message at most once (a redelivery is not counted); what the restarted bridge
    // queued, all of it (only the SIGKILLed one can have lost its last seconds of counts).
    const bridged = (JSON.parse(fs.readFileSync(path.join(sb.env.XDG_STATE_HOME as string, 'faass', 'queue', '.metrics.json'), 'utf8')) as { natsBridged?: Record<string, number> }).natsBridged?.sink ?? 0;
    t.ok(bridged <= N + M && bridged >= N + M - deliveredAtKill, `messages bridged counted: ${bridged} of ${N + M} (at most ${deliveredAtKill} before the kill unwritten)`);
    t.equal((await sb.faassctl('trigger', 'add', 'sink', '--nats', url, '--subject', 'orders.>', '--id', 'again')).code, 0);
    await waitFor('the new bridge', async () => (await mainPid(sb, 'faass-fn-sink-at-again.service')) > 0);
    t.equal((await sb.faassctl('delete', 'sink', '--discard')).code, 0);
    t.notOk(fs.existsSync(unitFile('faass-fn-sink-at-again.service')), 'delete removes the bridge unit');
    t.notOk(await mainPid(sb, 'faass-fn-sink-at-again.service'), 'and it runs no more');
  });
});
