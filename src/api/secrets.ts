// /system/secrets (faassctl secret --gateway; OpenFaaS's route): GET lists them (name, size,
// times, users: never a value), POST {name, value} creates, PUT {name, value} replaces (and
// try-restarts the runners of functions naming it), DELETE {name} removes one no function names.
// A value is "value" (a string, stored as its UTF-8) or "rawValue" (base64, any bytes), as
// OpenFaaS takes them; it is never logged nor answered.
import { Paths } from '../core/paths';
import { FaassError } from '../core/errors';
import { validateName } from '../core/validate';
import { listSecrets, removeSecret, restartUsers, secretExists, writeSecret } from '../functions/secrets';
import { log } from '../observe/log';

export interface SecretsAnswer {
  status: number;
  body: unknown;
}

type Serialized = <T>(f: () => Promise<T>) => Promise<T>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function objectOf(body: unknown, known: string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FaassError('FAASS_E_USAGE', `Expected a JSON object with ${known.join(', ')}`);
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!known.includes(k)) throw new FaassError('FAASS_E_USAGE', `Unknown field ${JSON.stringify(k.slice(0, 40))}; known fields: ${known.join(', ')}`);
  return b;
}

// The value's bytes; which field is wrong is said, never what it held.
function valueOf(b: Record<string, unknown>): Buffer {
  if ((b.value === undefined) === (b.rawValue === undefined)) throw new FaassError('FAASS_E_USAGE', 'Give the secret as "value" (a string) or "rawValue" (base64), one of them');
  if (b.value !== undefined) {
    if (typeof b.value !== 'string') throw new FaassError('FAASS_E_USAGE', 'Invalid value: expected a string');
    return Buffer.from(b.value, 'utf8');
  }
  if (typeof b.rawValue !== 'string' || b.rawValue.length % 4 !== 0 || !BASE64.test(b.rawValue)) throw new FaassError('FAASS_E_USAGE', 'Invalid rawValue: expected base64');
  return Buffer.from(b.rawValue, 'base64');
}

export async function secretsRoute(paths: Paths, method: string, readJson: () => Promise<unknown>, serialized: Serialized): Promise<SecretsAnswer> {
  if (method === 'GET') return { status: 200, body: listSecrets(paths).map((s) => ({ name: s.name, size: s.size, created: s.created, updated: s.updated, used_by: s.usedBy })) };
  if (method === 'DELETE') {
    const name = validateName(objectOf(await readJson(), ['name']).name, 'secret');
    await serialized(async () => removeSecret(paths, name));
    log.info(`API: removed secret ${name}`);
    return { status: 200, body: { name, deleted: true } };
  }
  // POST or PUT (the router allows no other)
  const b = objectOf(await readJson(), ['name', 'value', 'rawValue']);
  const name = validateName(b.name, 'secret');
  const value = valueOf(b);
  return serialized(async () => {
    const found = secretExists(paths, name);
    if (method === 'POST' && found) throw new FaassError('FAASS_E_SECRET_EXISTS', `A secret named ${name} exists; replace its value with PUT`);
    if (method === 'PUT' && !found) throw new FaassError('FAASS_E_SECRET_NOT_FOUND', `No secret named ${name}; create it with POST`);
    writeSecret(paths, name, value);
    const told = found ? await restartUsers(paths, name) : [];
    log.info(`API: ${found ? 'replaced' : 'created'} secret ${name} (${value.length} bytes)${told.length ? `; restarting ${told.join(', ')}` : ''}`);
    return { status: found ? 200 : 201, body: { name, size: value.length, created: !found, restarted: told } };
  });
}
