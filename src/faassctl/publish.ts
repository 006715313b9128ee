// faassctl publish T: a message to every function subscribed to topic T, through the gateway
// (this host's, or --gateway), as any client would POST /topic/T. A line per subscriber: its
// call id, or why its queue refused the call (gateway/publish.ts).
import * as fs from 'node:fs';
import { ERRORS, ErrorCode, fail } from '../core/errors';
import { validateTopic } from '../core/validate';
import { Target, send, replyError } from './client';
import { Register } from './cli';

export interface PublishOptions {
  topic: string;
  data?: string;
  file?: string;
  key?: string; // Idempotency-Key
  json?: boolean;
}

type Row = { function: string; callId?: string; repeat?: boolean; error?: { code: ErrorCode; message: string } };

function body(o: PublishOptions): Buffer {
  if (o.data !== undefined && o.file !== undefined) fail('FAASS_E_USAGE', 'publish takes --data or --file, not both');
  if (o.file === undefined) return Buffer.from(o.data ?? '');
  try {
    return fs.readFileSync(o.file === '-' ? 0 : o.file);
  } catch (e) {
    fail('FAASS_E_FILE_MISSING', `Cannot read ${o.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

const line = (r: Row): string => (r.error ? `${r.function}\tnot queued: ${r.error.code}: ${r.error.message}` : `${r.function}\t${r.callId}${r.repeat ? '\t(queued before, same Idempotency-Key)' : ''}`);

// 0 when every subscriber has its call; else the first refusal's exit status (a line each says which).
export async function publish(t: Target, o: PublishOptions): Promise<number> {
  const topic = validateTopic(o.topic);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...(o.key !== undefined ? { 'idempotency-key': o.key } : {}) };
  const r = await send(t, 'POST', `/topic/${topic}`, { headers, body: body(o) });
  let rows: Row[] | null = null;
  try {
    rows = (JSON.parse(r.body.toString('utf8')) as { subscribers?: Row[] }).subscribers ?? null;
  } catch {
    // not a publish's answer: replyError says what answered
  }
  if (!rows) throw replyError(t, r);
  if (o.json) process.stdout.write(r.body.toString('utf8'));
  else process.stdout.write(rows.map(line).join('\n') + '\n');
  const failed = rows.find((x) => x.error);
  if (!failed?.error) return 0;
  process.stderr.write(`faassctl: ${rows.filter((x) => x.error).length} of ${rows.length} subscribers of ${topic} did not get the message (HTTP ${r.status}); publish again with the same --idempotency-key to queue it for them alone\n`);
  return ERRORS[failed.error.code]?.exit ?? 1;
}

export const register: Register = (y, cli) =>
  y.command(
    'publish <topic>',
    'publish a message to a topic: one asynchronous call per subscribed function; prints each call id',
    (y) =>
      y
        .positional('topic', { type: 'string', demandOption: true })
        .option('data', { alias: 'd', type: 'string', describe: 'the message' })
        .option('file', { alias: 'f', type: 'string', describe: 'the message from this file (- for stdin)' })
        .option('idempotency-key', { type: 'string', describe: 'a repeat with this key (within 24 h) queues nothing twice for any subscriber' })
        .option('json', { type: 'boolean', describe: "the gateway's answer as JSON" }),
    (a) => cli.run(() => publish(cli.target(a), { topic: a.topic, data: a.data, file: a.file, key: a['idempotency-key'], json: a.json })),
  );
