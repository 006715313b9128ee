// Credentials: a name and a random secret, given to the user once as the token NAME.SECRET and
// stored only as a salted scrypt hash in $XDG_CONFIG_HOME/faass/auth.conf (mode 0600). Clients
// send `Authorization: Bearer NAME.SECRET`, or Basic with user NAME and password SECRET (or the
// whole token). Names are lowercase DNS labels, so the token splits at its first dot.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ini from 'ini';
import { randomBytes, scrypt, scryptSync, timingSafeEqual, createHash, ScryptOptions } from 'node:crypto';
import { promisify } from 'node:util';
import { Paths } from '../core/paths';
import { fail, FaassError } from '../core/errors';
import { isValidName, validateName } from '../core/validate';
import { writeFileAtomic, withLock } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';

export interface Credential {
  readonly name: string;
  readonly admin: boolean; // may use the management API, and call every function
  readonly hash: string; // scrypt$N$r$p$SALT$HASH (base64url)
  readonly created: string; // ISO 8601
}

export const authConfPath = (p: Paths): string => path.join(p.configDir, 'auth.conf');

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/; // 32 random bytes, base64url

export function hashSecret(secret: string, salt = randomBytes(16)): string {
  const h = scryptSync(secret, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${h.toString('base64url')}`;
}

const scryptAsync = promisify(scrypt) as (secret: string, salt: Buffer, keylen: number, opts: ScryptOptions) => Promise<Buffer>;

function parseHash(stored: string): { salt: Buffer; want: Buffer; opts: ScryptOptions } | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const want = Buffer.from(parts[5], 'base64url');
  if (!N || !r || !p || want.length === 0 || N > 1 << 20 || r > 32 || p > 16) return null;
  return { salt: Buffer.from(parts[4], 'base64url'), want, opts: { N, r, p, maxmem: 256 * N * r + 1024 * 1024 } };
}

// Constant time in the secret: the stored hash and the candidate's are compared whole.
export function verifySecret(secret: string, stored: string): boolean {
  const h = parseHash(stored);
  return h !== null && timingSafeEqual(scryptSync(secret, h.salt, h.want.length, h.opts), h.want);
}

// The same off the event loop (libuv's thread pool), for the gateway.
export async function verifySecretAsync(secret: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  return h !== null && timingSafeEqual(await scryptAsync(secret, h.salt, h.want.length, h.opts), h.want);
}

export interface Presented {
  name: string;
  secret: string;
}

// The credential a request presents; null without an Authorization header; 'malformed' for one
// that is neither a well-formed Basic nor Bearer faass token.
export function parseAuthorization(header: string | undefined): Presented | null | 'malformed' {
  if (header === undefined) return null;
  const m = /^(\S+)\s+(\S+)\s*$/.exec(header);
  if (!m) return 'malformed';
  const scheme = m[1].toLowerCase();
  let name: string;
  let secret: string;
  if (scheme === 'bearer') {
    const dot = m[2].indexOf('.');
    if (dot < 0) return 'malformed';
    name = m[2].slice(0, dot);
    secret = m[2].slice(dot + 1);
  } else if (scheme === 'basic') {
    const decoded = Buffer.from(m[2], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'malformed';
    name = decoded.slice(0, colon);
    secret = decoded.slice(colon + 1);
    if (secret.startsWith(`${name}.`)) secret = secret.slice(name.length + 1); // the whole token as password
  } else return 'malformed';
  if (!isValidName(name) || !SECRET_RE.test(secret)) return 'malformed';
  return { name, secret };
}

function parseStore(text: string, file: string): Map<string, Credential> {
  const doc = ini.parse(text) as Record<string, unknown>;
  const out = new Map<string, Credential>();
  for (const [name, v] of Object.entries(doc)) {
    if (!isValidName(name) || typeof v !== 'object' || v === null) throw new FaassError('FAASS_E_CONFIG_INVALID', `${file}: unexpected entry ${JSON.stringify(name)}; expected [NAME] sections`);
    const s = v as Record<string, unknown>;
    if (typeof s.hash !== 'string' || !s.hash.startsWith('scrypt$')) throw new FaassError('FAASS_E_CONFIG_INVALID', `${file}: credential ${name} has no scrypt hash`);
    out.set(name, Object.freeze({ name, admin: s.admin === true || s.admin === 'true', hash: s.hash, created: typeof s.created === 'string' ? s.created : '' }));
  }
  return out;
}

export function loadCredentials(paths: Paths): Map<string, Credential> {
  const file = authConfPath(paths);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
  return parseStore(text, file);
}

function renderStore(creds: Map<string, Credential>): string {
  const doc: Record<string, Record<string, string | boolean>> = {};
  for (const c of [...creds.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) doc[c.name] = { admin: c.admin, created: c.created, hash: c.hash };
  return '# faass credentials (faassctl credentials); secrets are stored only as scrypt hashes\n' + ini.stringify(doc);
}

// Read-modify-write under a lock file, so two faassctl runs never lose each other's change.
function updateStore<T>(paths: Paths, change: (creds: Map<string, Credential>) => T): T {
  const file = authConfPath(paths);
  privateDir(paths, path.dirname(file));
  return withLock(file, () => {
    const creds = loadCredentials(paths);
    const r = change(creds);
    writeFileAtomic(file, renderStore(creds), 0o600);
    return r;
  });
}

// Creates a credential; returns its token, which is never stored nor shown again.
export function addCredential(paths: Paths, name: string, admin: boolean, now = new Date()): string {
  validateName(name, 'credential');
  const secret = randomBytes(32).toString('base64url');
  updateStore(paths, (creds) => {
    if (creds.has(name)) fail('FAASS_E_CONFIG_INVALID', `A credential named ${name} exists; remove it first to replace it`);
    creds.set(name, { name, admin, hash: hashSecret(secret), created: now.toISOString() });
  });
  return `${name}.${secret}`;
}

export function removeCredential(paths: Paths, name: string): void {
  updateStore(paths, (creds) => {
    if (!creds.delete(name)) fail('FAASS_E_CREDENTIAL_NOT_FOUND', `No credential named ${name}`);
  });
}

// Checks presented tokens against the store; a verified token is remembered (by its SHA-256)
// until the store changes, so scrypt runs once per token and gateway start, not per request.
export class Verifier {
  private mtimeMs = -1;
  private creds = new Map<string, Credential>();
  private readonly known = new Map<string, string>(); // sha256(name.secret) -> name

  constructor(private readonly paths: Paths) {}

  private refresh(): void {
    const st = fs.statSync(authConfPath(this.paths), { throwIfNoEntry: false });
    const mtime = st ? st.mtimeMs : 0;
    if (mtime === this.mtimeMs) return;
    this.creds = loadCredentials(this.paths);
    this.known.clear();
    this.mtimeMs = mtime;
  }

  // Whether any admin credential exists: the API is off without one.
  get hasAdmin(): boolean {
    this.refresh();
    return [...this.creds.values()].some((c) => c.admin);
  }

  // Whether NAME is an admin credential now: a console session ends with its credential.
  isAdmin(name: string): boolean {
    this.refresh();
    return this.creds.get(name)?.admin === true;
  }

  async verify(p: Presented): Promise<Credential | null> {
    this.refresh();
    const c = this.creds.get(p.name);
    const key = createHash('sha256').update(`${p.name}.${p.secret}`).digest('base64url');
    if (this.known.get(key) === p.name && c) return c;
    // An unknown name costs a hash too, so timing does not tell which names exist.
    const ok = await verifySecretAsync(p.secret, c?.hash ?? dummyHash());
    this.refresh(); // the store may have changed while hashing
    if (!ok || !c || this.creds.get(p.name)?.hash !== c.hash) return null;
    this.known.set(key, p.name);
    return c;
  }
}

let dummy: string | null = null;
const dummyHash = (): string => (dummy ??= hashSecret('x'.repeat(43), Buffer.alloc(16)));

// Failed authentication attempts per source address: after `limit` failures within `windowMs`,
// the address gets 429 with Retry-After until the window ends. Bounded memory: the oldest
// addresses are forgotten first.
export class FailureLimiter {
  private readonly entries = new Map<string, { since: number; count: number }>();

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60000,
    private readonly maxEntries = 10000,
  ) {}

  // Seconds to wait, or 0 when the address may try.
  retryAfter(key: string, now = Date.now()): number {
    const e = this.entries.get(key);
    if (!e || now - e.since >= this.windowMs) return 0;
    return e.count >= this.limit ? Math.ceil((e.since + this.windowMs - now) / 1000) : 0;
  }

  failed(key: string, now = Date.now()): void {
    const e = this.entries.get(key);
    if (e && now - e.since < this.windowMs) {
      e.count++;
      return;
    }
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { since: now, count: 1 });
  }
}
