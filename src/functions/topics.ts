// A function's topic subscriptions (issue 14, topics): kept beside its other triggers, in a file of
// its own next to the function's file, functions/NAME.topics (a topic a line), for the reasons
// its schedules are (a redeploy, which rewrites NAME.conf, keeps them; a delete takes them). No
// unit follows from them: POST /topic/T (gateway/publish.ts) reads who subscribes to T at each
// publish and queues one asynchronous call per subscriber. Nothing runs while no one publishes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, functionsConfDir } from '../core/paths';
import { brokenFile, fail } from '../core/errors';
import { isValidName, validateName, validateTopic } from '../core/validate';
import { writeFileAtomic } from '../core/fs-atomic';
import { loadFunctionConfig } from './function-config';

const SUFFIX = '.topics';

export const topicsPath = (p: Paths, name: string): string => path.join(functionsConfDir(p), `${name}${SUFFIX}`);

// Blank lines and # comments aside, a topic a line; each judged by the one rule (validate.ts).
export function parseTopics(text: string): string[] {
  const topics = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map(validateTopic);
  return [...new Set(topics)].sort();
}

export const renderTopics = (name: string, topics: readonly string[]): string => `# faass topics function ${name} subscribes to (faassctl(1) trigger); written by faassctl and the management API\n${topics.map((t) => `${t}\n`).join('')}`;

// NAME's topics; none without a file. A file that does not parse is broken (FAASS_E_CONFIG_BROKEN).
export function loadTopics(p: Paths, name: string): string[] {
  validateName(name);
  return readTopicsFile(topicsPath(p, name)) ?? [];
}

function readTopicsFile(file: string): string[] | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw brokenFile(file, e);
  }
  try {
    return parseTopics(text);
  } catch (e) {
    throw brokenFile(file, e);
  }
}

function saveTopics(p: Paths, name: string, topics: readonly string[]): void {
  if (topics.length === 0) fs.rmSync(topicsPath(p, name), { force: true });
  else writeFileAtomic(topicsPath(p, name), renderTopics(name, topics));
}

// Subscribes NAME (which must exist) to topic; added: false when it was subscribed already.
export function subscribe(p: Paths, name: string, topic: unknown): { topic: string; added: boolean } {
  const t = validateTopic(topic);
  loadFunctionConfig(p, validateName(name)); // it exists, and its file reads
  const topics = loadTopics(p, name);
  if (topics.includes(t)) return { topic: t, added: false };
  saveTopics(p, name, [...topics, t].sort());
  return { topic: t, added: true };
}

export function unsubscribe(p: Paths, name: string, topic: unknown): void {
  const t = validateTopic(topic);
  loadFunctionConfig(p, validateName(name));
  const topics = loadTopics(p, name);
  if (!topics.includes(t)) fail('FAASS_E_TOPIC_NOT_FOUND', `${name} does not subscribe to topic ${t}${topics.length ? ` (it subscribes to ${topics.join(', ')})` : ''}`);
  saveTopics(p, name, topics.filter((x) => x !== t));
}

// Every function's topics, by function name (only functions that subscribe to some). A topics file
// that does not parse throws: who gets a message would be unknown, so nothing is published (fail
// closed, rather than leave a subscriber out without a word).
export function allSubscriptions(p: Paths): Map<string, string[]> {
  let files: string[];
  try {
    files = fs.readdirSync(functionsConfDir(p));
  } catch {
    return new Map();
  }
  const out = new Map<string, string[]>();
  for (const f of files.sort()) {
    const name = f.slice(0, -SUFFIX.length);
    if (!f.endsWith(SUFFIX) || !isValidName(name)) continue;
    const topics = readTopicsFile(path.join(functionsConfDir(p), f));
    if (topics?.length) out.set(name, topics);
  }
  return out;
}

// The functions subscribed to topic, sorted.
export const subscribersOf = (p: Paths, topic: string): string[] => [...allSubscriptions(p)].filter(([, ts]) => ts.includes(topic)).map(([n]) => n);
