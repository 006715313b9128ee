// Who may pass: a function's `auth=` credentials (none: public), admins everywhere, and only
// admins to the management API; and what a scrape of /metrics shows. Failed attempts are
// counted per source address: after 10 in a minute the address gets 429 until the minute ends
// (auth/credentials FailureLimiter).
import type * as http from 'node:http';
import { FaassError } from '../core/errors';
import { Credential, FailureLimiter, Presented, parseAuthorization } from '../auth/credentials';
import { log } from '../observe/log';
import type { MetricsAccess } from '../core/settings';

// What authorization looks at in a request. session: the web console's session the request's
// cookie carries, as Console.apiSession judged it (valid cookie, its credential still an admin,
// same origin, X-CSRF-Token matching), looked at only without an Authorization header and only
// on the console's own address (gateway.ts callerOf; null: no session cookie, or another address).
export interface Caller {
  address: string;
  authorization: string | undefined;
  session?: SessionCheck | null;
}

export type SessionCheck = { name: string } | { error: FaassError };

export const callerOf = (req: http.IncomingMessage): Caller => ({ address: req.socket.remoteAddress ?? 'unix', authorization: req.headers.authorization });

// What is asked for. A function whose file does not parse is `broken` (the reason): who may call
// it is unknown, so nobody passes.
export type FunctionDoor = { kind: 'function'; name: string; auth: readonly string[]; broken: FaassError | null };
export type Door = FunctionDoor | { kind: 'api' };

export const API_DOOR: Door = { kind: 'api' };

// Why a caller may not go on, and the headers that say how to (WWW-Authenticate, Retry-After).
export interface Refusal {
  error: FaassError;
  headers: Record<string, string>;
}

// The credential store as authorization uses it (auth/credentials Verifier).
export interface CredentialCheck {
  readonly hasAdmin: boolean;
  verify(p: Presented): Promise<Credential | null>;
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="faass", Basic realm="faass", charset="UTF-8"' };

export class Authorizer {
  constructor(
    private readonly credentials: CredentialCheck,
    private readonly limiter = new FailureLimiter(),
  ) {}

  // The API is off while no admin credential exists.
  get apiEnabled(): boolean {
    return this.credentials.hasAdmin;
  }

  // null: the caller may go on.
  async check(caller: Caller, door: Door): Promise<Refusal | null> {
    if (door.kind === 'function' && door.broken) return { error: door.broken, headers: {} };
    if (door.kind === 'function' && door.auth.length === 0) return null;
    const cred = await this.identify(caller, door.kind === 'api' ? { needs: 'The management API', logged: 'the API' } : { needs: `Function ${door.name}`, logged: door.name });
    if (!isCredential(cred)) return cred;
    if (cred.admin) return null;
    if (door.kind === 'api') return refusal('FAASS_E_FORBIDDEN', `Credential ${cred.name} is not an admin`);
    return door.auth.includes(cred.name) ? null : refusal('FAASS_E_FORBIDDEN', `Credential ${cred.name} may not call ${door.name}`);
  }

  // A publish to a topic (gateway/publish.ts): the caller must be allowed to call every
  // subscriber, as if it called each (admins: all). One subscriber whose file does not parse
  // refuses the whole publish (who may call it is unknown), as does one the credential may not
  // call: a message goes to all of them or to none, never to the callable part alone. The
  // credential is looked at once (a wrong one counts once toward the failure limit).
  async checkEvery(caller: Caller, topic: string, doors: FunctionDoor[]): Promise<Refusal | null> {
    const broken = doors.find((d) => d.broken);
    if (broken?.broken) return { error: broken.broken, headers: {} };
    if (doors.every((d) => d.auth.length === 0)) return null;
    const cred = await this.identify(caller, { needs: `Topic ${topic} (a subscriber of it)`, logged: `topic ${topic}` });
    if (!isCredential(cred)) return cred;
    if (cred.admin) return null;
    const closed = doors.filter((d) => d.auth.length > 0 && !d.auth.includes(cred.name));
    // Not named: a credential learns no function it may not call.
    return closed.length ? refusal('FAASS_E_FORBIDDEN', `Credential ${cred.name} may not call ${closed.length} of the ${doors.length} subscribers of topic ${topic}; publishing needs a credential every subscriber takes, or an admin`) : null;
  }

  // Whose series a scrape of /metrics shows (faass.conf metrics_access). filtered: an anonymous
  // scrape sees public functions only, as a public function's call passes without a look at the
  // limiter; any credential given is checked as on other paths (a wrong one: 401, counted).
  async viewer(caller: Caller, access: MetricsAccess): Promise<Refusal | Viewer> {
    if (access === 'open') return { all: true };
    if (access === 'filtered' && parseAuthorization(caller.authorization) === null) return { all: false, credential: null };
    const cred = await this.identify(caller, { needs: '/metrics', logged: '/metrics' });
    if (!isCredential(cred)) return cred;
    if (cred.admin) return { all: true };
    if (access === 'admin') return refusal('FAASS_E_FORBIDDEN', `Credential ${cred.name} is not an admin`);
    return { all: false, credential: cred.name };
  }

  // The caller's valid credential, or why not: rate-limited, none given, or a wrong one (counted).
  // A console session (given only on the console's address: gateway.ts callerOf) is its admin's
  // credential, on every door there (the API, any function, /metrics); a session cookie that does not pass is refused with its reason (401 not valid,
  // 403 without its CSRF token or from another origin), never taken as no credential, and with no
  // WWW-Authenticate (a browser would answer it with its own password dialog).
  private async identify(caller: Caller, what: { needs: string; logged: string }): Promise<Refusal | Who> {
    const wait = this.limiter.retryAfter(caller.address);
    if (wait > 0) return refusal('FAASS_E_AUTH_RATE_LIMITED', 'Too many failed authentication attempts from this address', { 'retry-after': String(wait) });
    const presented = parseAuthorization(caller.authorization);
    if (presented === null && caller.session) return 'name' in caller.session ? { name: caller.session.name, admin: true } : { error: caller.session.error, headers: {} };
    if (presented === null) return refusal('FAASS_E_AUTH_REQUIRED', `${what.needs} needs a credential: Authorization: Bearer NAME.SECRET`, CHALLENGE);
    const cred = presented === 'malformed' ? null : await this.credentials.verify(presented);
    if (cred) return cred;
    this.limiter.failed(caller.address);
    const as = presented === 'malformed' ? ' (malformed Authorization header)' : ` as ${presented.name}`;
    log.warning(`Failed authentication for ${what.logged} from ${caller.address}${as}`);
    return refusal('FAASS_E_AUTH_REQUIRED', 'The credential given is not valid', CHALLENGE);
  }
}

// What a scrape may see: every series, or faass-wide ones and those of the functions mayView lets through.
export type Viewer = { all: true } | { all: false; credential: string | null };

// Whether a non-admin viewer sees a function's series: it is public, or the viewer may call it.
// No file, or one that does not parse (a deleted function's counters stay): who may call it is
// unknown, so it stays hidden.
export function mayView(fn: { auth: readonly string[]; broken: unknown } | null, credential: string | null): boolean {
  if (!fn || fn.broken) return false;
  return fn.auth.length === 0 || (credential !== null && fn.auth.includes(credential));
}

// Who a caller is, once identified: a credential's name, or a console session's admin.
type Who = Pick<Credential, 'name' | 'admin'>;

const isCredential = (r: Refusal | Who): r is Who => !('error' in r);

const refusal = (code: FaassError['code'], message: string, headers: Record<string, string> = {}): Refusal => ({ error: new FaassError(code, message), headers });
