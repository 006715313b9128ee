#!/usr/bin/env node
// faass-fn-NAME-at-ID.service of a NATS bridge (functions/nats-triggers.ts): holds a JetStream
// durable consumer and turns each message into one asynchronous call (nats-bridge.ts), acked
// once the call is on disk. Runs until stopped; the unit restarts it after a crash.
//
// A pull consumer, not a push one: the bridge asks for messages as it has room for them
// (at most BUFFERED waiting in the client, IN_FLIGHT being queued at once), so a slow disk or a
// full queue slows the pulling rather than letting the server push into a buffer that outlives the
// ack wait; a pull consumer needs no delivery subject and survives the bridge's restarts as it is
// (push consumers are the legacy API of the client). The consumer is made (or its subject updated)
// by the bridge: explicit acks, ACK_WAIT_MS to ack, after which the server delivers again.
// With authentication (functions/nats-auth.ts), the secret is read from the file its unit binds
// in, once at start, and never logged: a server that refuses it is one journal line and an exit,
// and the unit starts the bridge again after RestartSec= (the server's config may change).
import * as fs from 'node:fs';
import { AckPolicy, ConnectionOptions, DeliverPolicy, JsMsg, NatsConnection, NatsError, connect, credsAuthenticator, nanos } from 'nats';
import { resolvePaths, Paths } from '../core/paths';
import { validateName } from '../core/validate';
import { checkScheduleId } from '../functions/schedules';
import { buildNatsTrigger, NatsTrigger } from '../functions/nats-triggers';
import { logLine, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { scheduleUnitBase } from '../systemd/units';
import { flushQueueCounters } from './counters';
import { Message, messageKey, queueMessage, setupWait } from './nats-bridge';

const IN_FLIGHT = 32;
const BUFFERED = 128;
// Long against the time to queue a call (milliseconds), short enough that what a killed bridge
// held comes again soon.
const ACK_WAIT_MS = 15000;
const REPORT_MS = 10000;
// This process's start: a key claim older is a killed predecessor's (idempotency.ts staleBefore).
const STARTED = Date.now();

interface Args {
  name: string;
  trigger: NatsTrigger;
  queueMax: number;
  secretFile?: string;
}

function args(argv: string[]): Args {
  const at = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const name = validateName(at('--function'));
  const id = checkScheduleId(at('--trigger'));
  const trigger = buildNatsTrigger(name, id, { nats: at('--nats'), subject: at('--subject'), durable: at('--durable'), stream: at('--stream'), auth: at('--auth'), user: at('--user') });
  const queueMax = Number(at('--queue-max'));
  if (!Number.isInteger(queueMax) || queueMax < 1) throw new Error('--queue-max N is required');
  const secretFile = at('--secret-file');
  if ((trigger.auth === undefined) !== (secretFile === undefined)) throw new Error('--auth and --secret-file go together');
  return { name, trigger, queueMax, secretFile };
}

// The connection's credentials, from the secret file. A file missing or empty stops the bridge
// (fail closed: it never connects without the authentication it was given), saying which file.
function authOptions(a: Args): Partial<ConnectionOptions> {
  if (a.trigger.auth === undefined || a.secretFile === undefined) return {};
  let secret: Buffer;
  try {
    secret = fs.readFileSync(a.secretFile);
  } catch (e) {
    throw new Said(`nats=${a.trigger.id} function=${a.name}: cannot read its NATS secret ${a.secretFile} (${(e as NodeJS.ErrnoException).code ?? 'error'}): add the trigger again (faassctl trigger rm, trigger add)`);
  }
  if (secret.length === 0) throw new Said(`nats=${a.trigger.id} function=${a.name}: its NATS secret ${a.secretFile} is empty: add the trigger again (faassctl trigger rm, trigger add)`);
  if (a.trigger.auth === 'creds') return { authenticator: credsAuthenticator(new Uint8Array(secret)) };
  if (a.trigger.auth === 'token') return { token: secret.toString('utf8') };
  return { user: a.trigger.user, pass: secret.toString('utf8') };
}

const METHOD = { token: 'token', user: 'user name and password', creds: 'credentials (.creds)' } as const;

// The line for a connection the server refused or ended: what was refused (the method, never the
// secret) and the server's own reason (its error code and text hold no credentials).
function refusal(a: Args, e: unknown): string {
  const how = a.trigger.auth ? `its ${METHOD[a.trigger.auth]}${a.trigger.user ? ` for user ${a.trigger.user}` : ''}` : 'a connection without authentication';
  const why = e instanceof NatsError ? `${e.code}: ${e.message.replace(/^'(.*)'$/, '$1')}` : errorMessage(e); // the server quotes its reason
  return `nats=${a.trigger.id} function=${a.name}: the NATS server at ${a.trigger.url} refused ${how} (${why}); exiting, systemd starts the bridge again`;
}

const isAuthError = (e: unknown): boolean => e instanceof NatsError && (e.isAuthError() || e.code === 'BAD_CREDS');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The stream (given, or the one that takes the subject), its creation time (part of each key),
// and the durable consumer, made or brought to the trigger's subject.
async function setUp(nc: NatsConnection, t: NatsTrigger): Promise<{ stream: string; created: string }> {
  const jsm = await nc.jetstreamManager();
  const stream = t.stream ?? (await jsm.streams.find(t.subject));
  const info = await jsm.streams.info(stream);
  const have = await jsm.consumers.info(stream, t.durable).catch(() => null);
  if (!have) {
    await jsm.consumers.add(stream, { durable_name: t.durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: t.subject, ack_wait: nanos(ACK_WAIT_MS), max_ack_pending: IN_FLIGHT + BUFFERED });
  } else if (have.config.filter_subject !== t.subject) {
    await jsm.consumers.update(stream, t.durable, { filter_subject: t.subject });
  }
  return { stream, created: info.created };
}

const messageOf = (m: JsMsg): Message => ({ subject: m.subject, seq: m.seq, data: m.data, headers: m.headers ? m.headers.keys().map((k) => [k, m.headers?.values(k) ?? []]) : [] });

class Tally {
  queued = 0;
  handedBack = 0;
  lastWhy = '';
  report(a: Args): void {
    if (this.queued + this.handedBack === 0) return;
    const back = this.handedBack ? `; ${this.handedBack} handed back to NATS for later (last: ${this.lastWhy})` : '';
    logLine(this.handedBack ? 'warning' : 'info', `nats=${a.trigger.id} function=${a.name}: ${this.queued} messages queued as calls and acked${back}`);
    this.queued = this.handedBack = 0;
  }
}

async function bridge(p: Paths, a: Args, nc: NatsConnection, stop: { stopping: boolean; current?: { stop(): void } }): Promise<void> {
  const { stream, created } = await setUp(nc, a.trigger);
  const consumer = await nc.jetstream().consumers.get(stream, a.trigger.durable);
  const messages = await consumer.consume({ max_messages: BUFFERED });
  stop.current = messages;
  logLine('info', `nats=${a.trigger.id} function=${a.name}: consuming ${a.trigger.subject} from stream ${stream} as ${a.trigger.durable} at ${a.trigger.url}`);
  const tally = new Tally();
  const timer = setInterval(() => tally.report(a), REPORT_MS).unref();
  const running = new Set<Promise<void>>();
  try {
    for await (const m of messages) {
      const one = handle(p, a, stream, created, m, tally).finally(() => running.delete(one));
      running.add(one);
      if (running.size >= IN_FLIGHT) await Promise.race(running);
    }
  } finally {
    await Promise.all(running);
    clearInterval(timer);
    tally.report(a);
  }
}

async function handle(p: Paths, a: Args, stream: string, created: string, m: JsMsg, tally: Tally): Promise<void> {
  const d = await queueMessage(p, { name: a.name, triggerId: a.trigger.id, key: messageKey(stream, created, m.seq), queueMax: a.queueMax, started: STARTED }, messageOf(m));
  if ('ack' in d) {
    m.ack();
    tally.queued++;
  } else {
    m.nak(d.nak);
    tally.handedBack++;
    tally.lastWhy = d.why;
  }
}

async function main(): Promise<number> {
  const a = args(process.argv.slice(2));
  logWithFields({ SYSLOG_IDENTIFIER: scheduleUnitBase(a.name, a.trigger.id), FAASS_FUNCTION: a.name });
  const p = resolvePaths();
  // Waits for a server that is down, and reconnects for good: the client's own backoff. A
  // refusal of its credentials ends that (the client gives up on the same auth error twice).
  const nc = await connect({ servers: a.trigger.url, name: `faass ${a.name} ${a.trigger.id}`, waitOnFirstConnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 2000, ...authOptions(a) }).catch((e: unknown) => {
    throw isAuthError(e) ? new Said(refusal(a, e)) : e;
  });
  void watchStatus(nc, a);
  const stop: { stopping: boolean; current?: { stop(): void } } = { stopping: false };
  // Closed by the client, not by a stop (credentials refused on a reconnect): the bridge cannot go
  // on, and exits for its unit to start it again.
  void nc.closed().then((e) => {
    if (stop.stopping) return;
    logLine('err', e && isAuthError(e) ? refusal(a, e) : `nats=${a.trigger.id} function=${a.name}: the connection to ${a.trigger.url} closed (${e ? errorMessage(e) : 'no reason given'}); exiting, systemd starts the bridge again`);
    flushQueueCounters();
    exitAfterLog(1);
  });
  process.on('SIGTERM', () => {
    stop.stopping = true;
    stop.current?.stop();
  });
  for (let attempt = 0; !stop.stopping; attempt++) {
    try {
      await bridge(p, a, nc, stop);
      attempt = -1;
    } catch (e) {
      if (stop.stopping) break;
      const wait = setupWait(attempt);
      logLine('err', `nats=${a.trigger.id} function=${a.name}: ${errorMessage(e)}; trying again in ${wait / 1000}s`);
      await sleep(wait);
    }
  }
  await nc.drain(); // the acks sent go out before the exit
  return 0;
}

async function watchStatus(nc: NatsConnection, a: Args): Promise<void> {
  for await (const s of nc.status()) {
    if (s.type === 'disconnect' || s.type === 'reconnect') logLine(s.type === 'disconnect' ? 'warning' : 'info', `nats=${a.trigger.id} function=${a.name}: ${s.type}ed ${typeof s.data === 'string' ? s.data : ''}`.trim());
  }
}

// An end the bridge explains in full (credentials refused, its secret unreadable): its message is the journal line.
class Said extends Error {}

// What the counters hold is written before the exit (a timer writes it every few seconds).
main().finally(flushQueueCounters).then(exitAfterLog, (e) => {
  logLine('err', e instanceof Said ? e.message : `NATS bridge failed: ${errorMessage(e)}`);
  exitAfterLog(1);
});
