// One catalog of faass errors: stable code, HTTP status, exit code. faassctl(1) DIAGNOSTICS
// lists them; test/unit/errors.test.ts keeps the two the same.
export const ERRORS = {
  FAASS_E_USAGE: { status: 400, exit: 2, summary: 'bad command-line usage' },
  FAASS_E_NAME_INVALID: { status: 400, exit: 2, summary: 'function name is not a lowercase DNS label, or is reserved (gateway, api, dispatch)' },
  FAASS_E_CONFIG_INVALID: { status: 400, exit: 2, summary: 'a configuration value is invalid' },
  FAASS_E_RUNTIME_UNKNOWN: { status: 400, exit: 2, summary: 'unknown runtime' },
  FAASS_E_FILE_MISSING: { status: 400, exit: 2, summary: 'a file named in the command or configuration does not exist' },
  FAASS_E_CALLBACK_REFUSED: { status: 400, exit: 2, summary: 'X-Callback-Url (--callback) is not an http(s) URL without user info whose every address is inside faass.conf [async] callback_allow' },
  FAASS_E_SCHEDULE_INVALID: { status: 400, exit: 2, summary: 'a schedule is refused: systemd-analyze calendar does not take its calendar expression (or its cron line\'s translation) with its time zone; its reason is given' },
  FAASS_E_TOPIC_INVALID: { status: 400, exit: 2, summary: "a topic name is not dot-separated words of lowercase letters, digits, '-' and '_' (at most 200 characters)" },
  FAASS_E_FUNCTION_NOT_FOUND: { status: 404, exit: 3, summary: 'no such function' },
  FAASS_E_CALL_NOT_FOUND: { status: 404, exit: 3, summary: 'no asynchronous call of that id (or it was done more than 24 h ago)' },
  FAASS_E_SCHEDULE_NOT_FOUND: { status: 404, exit: 3, summary: 'the function has no schedule of that id' },
  FAASS_E_TOPIC_NOT_FOUND: { status: 404, exit: 3, summary: 'no function subscribes to the topic (or the function has no such subscription): nothing was queued' },
  FAASS_E_CREDENTIAL_NOT_FOUND: { status: 404, exit: 3, summary: 'no such credential' },
  FAASS_E_SECRET_NOT_FOUND: { status: 404, exit: 3, summary: 'no secret of that name (faassctl secret ls); a deploy or rollback naming one changes nothing' },
  FAASS_E_API_DISABLED: { status: 404, exit: 3, summary: 'the management API is off: no admin credential exists' },
  FAASS_E_METHOD_NOT_ALLOWED: { status: 405, exit: 2, summary: 'the API route does not take this method' },
  FAASS_E_FUNCTION_EXISTS: { status: 409, exit: 2, summary: 'a function of that name exists (create with POST, update with PUT)' },
  FAASS_E_NAME_TAKEN: { status: 409, exit: 2, summary: "the function's (or trigger's) units would have the names of another function's: a service NAME's app and a function NAME-app, a trigger ID of NAME and a function NAME-at-ID share them; the message names the unit and its owner" },
  FAASS_E_SECRET_EXISTS: { status: 409, exit: 2, summary: 'a secret of that name exists (the API: create with POST, replace with PUT)' },
  FAASS_E_SECRET_IN_USE: { status: 409, exit: 2, summary: 'the secret to remove is named by functions (listed): deploy them without it first' },
  FAASS_E_QUEUE_NOT_EMPTY: { status: 409, exit: 2, summary: 'the function to delete has queued calls or dead letters: say --drain or --discard' },
  FAASS_E_VERSION_NOT_FOUND: { status: 404, exit: 3, summary: 'the function has no such version kept (faass.conf keep_versions), or none before the current one' },
  FAASS_E_DEPLOY_BUSY: { status: 409, exit: 2, summary: 'another deploy or rollback of the function is under way: try again when it ends' },
  FAASS_E_VERSION_CURRENT: { status: 409, exit: 2, summary: 'the version to roll back to is already the current one' },
  FAASS_E_STACK_MEMBER_TAKEN: { status: 409, exit: 2, summary: "the stack version to roll back to has a function another stack's up (or a deploy after a delete) made its own since" },
  FAASS_E_ACCESS_WIDER: { status: 409, exit: 2, summary: 'the version to roll back to lets more callers in than the current one: say --restore-access (API: "restore_access": true)' },
  FAASS_E_CANARY_EXISTS: { status: 409, exit: 2, summary: 'the function already has a canary: promote or abort it first' },
  FAASS_E_CANARY_NOT_FOUND: { status: 404, exit: 3, summary: 'the function has no canary (or the gateway aborted it, and the line says why)' },
  FAASS_E_CANARY_REFUSED: { status: 409, exit: 2, summary: 'no canary of this function: a service, a container function, a change of who may call it, or nothing new to run' },
  FAASS_E_ACCESS_UNKNOWN: { status: 409, exit: 2, summary: "the function's file cannot be read, so who may call it is unknown: the update must say (--auth or --public)" },
  FAASS_E_ROUTE_MISSING: { status: 404, exit: 3, summary: 'the request names no function' },
  FAASS_E_AUTH_REQUIRED: { status: 401, exit: 7, summary: 'the function or API needs a credential, and none (or a wrong one) was given' },
  FAASS_E_FORBIDDEN: { status: 403, exit: 7, summary: 'the credential given may not call this function or use the API' },
  FAASS_E_AUTH_RATE_LIMITED: { status: 429, exit: 7, summary: 'too many failed authentication attempts from this address' },
  FAASS_E_BODY_TOO_LARGE: { status: 413, exit: 4, summary: 'request body over the limit' },
  FAASS_E_TOO_MANY_REQUESTS: { status: 429, exit: 4, summary: 'max_inflight requests already running' },
  FAASS_E_QUEUE_FULL: { status: 429, exit: 4, summary: "the function's queue of asynchronous calls is full: try again later" },
  FAASS_E_FUNCTION_FAILED: { status: 500, exit: 5, summary: 'the function exited non-zero or its handler threw' },
  FAASS_E_HANDLER_LOAD: { status: 500, exit: 5, summary: 'the handler could not be loaded' },
  FAASS_E_INTERNAL: { status: 500, exit: 1, summary: 'internal error' },
  FAASS_E_FUNCTION_UNREACHABLE: { status: 502, exit: 5, summary: "the function's socket does not answer" },
  FAASS_E_FRAME_MALFORMED: { status: 502, exit: 5, summary: 'framed output is malformed' },
  FAASS_E_STATUS_INVALID: { status: 502, exit: 5, summary: 'the function answered a status it may not set (1xx, or outside 200-599)' },
  FAASS_E_ANSWER_MALFORMED: { status: 502, exit: 5, summary: "the service's answer is not HTTP the gateway can pass on (unparseable, an ambiguous length, control characters in a header)" },
  FAASS_E_OUTPUT_TOO_LARGE: { status: 502, exit: 5, summary: 'function output over max_output' },
  FAASS_E_RUNNER_STOPPED: { status: 502, exit: 5, summary: "the function's runner stopped during the call; it was not retried, as it may have run" },
  FAASS_E_WORKER_CRASHED: { status: 502, exit: 5, summary: 'the worker process died during the request' },
  FAASS_E_ENGINE_UNREACHABLE: { status: 502, exit: 5, summary: 'the Docker engine does not answer' },
  FAASS_E_UPLOAD_INVALID: { status: 400, exit: 2, summary: 'an uploaded file or archive is refused (path out of the tree, link out, setuid mode, not tar.gz, too many entries or too large unpacked)' },
  FAASS_E_INSTALL_FAILED: { status: 400, exit: 2, summary: "the function's dependencies could not be installed (package.json without a lockfile, a package no registry has, a failed build of one): the running version is untouched" },
  FAASS_E_BUILD_FAILED: { status: 400, exit: 2, summary: "the function's image could not be built" },
  FAASS_E_IMAGE_MISSING: { status: 502, exit: 5, summary: "the function's image is not on this host" },
  FAASS_E_FUNCTION_TIMEOUT: { status: 504, exit: 5, summary: 'the function ran past its timeout and was killed' },
  FAASS_E_GATEWAY_TIMEOUT: { status: 504, exit: 5, summary: 'no answer from the function within the gateway timeout' },
  FAASS_E_CHAIN_LIMIT: { status: 508, exit: 5, summary: "a file a call wrote into its outbox would start a call deeper than its file drop's chain_limit: no call, the file goes to failed/ and a dead letter says why" },
  FAASS_E_CONFIG_BROKEN: { status: 503, exit: 2, summary: "a file of faass's own configuration (faass.conf, a function's file, the TLS key pair) is invalid: what it governs answers 503, naming the file and what is wrong, until it is fixed" },
  FAASS_E_SERVICE_NOT_READY: { status: 503, exit: 5, summary: "the service's app did not get ready" },
  FAASS_E_QUEUE_UNAVAILABLE: { status: 503, exit: 6, summary: 'an asynchronous call cannot be queued: the disk is full or the queue cannot be written; nothing was queued' },
  FAASS_E_REGISTRY_UNREACHABLE: { status: 503, exit: 6, summary: "npm's registry or pip's index cannot be reached and the local caches lack a package the function's dependencies need: the running version is untouched" },
  FAASS_E_API_UNREACHABLE: { status: 503, exit: 6, summary: "the management API's socket (faass-api.socket) does not answer" },
  FAASS_E_GATEWAY_UNREACHABLE: { status: 502, exit: 5, summary: 'faassctl cannot connect to the gateway (or does not trust its certificate)' },
  FAASS_E_SYSTEMD_UNREACHABLE: { status: 503, exit: 6, summary: 'no systemd user manager is reachable' },
  FAASS_E_SYSTEMD_FAILED: { status: 500, exit: 6, summary: 'a systemctl call failed' },
  FAASS_E_JOURNAL_UNREADABLE: { status: 503, exit: 6, summary: 'journalctl opened no journal file: the journal is not kept, or this user may not read it' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class FaassError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'FaassError';
  }
  get status(): number {
    return ERRORS[this.code].status;
  }
  get exitCode(): number {
    return ERRORS[this.code].exit;
  }
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function fail(code: ErrorCode, message: string): never {
  throw new FaassError(code, message);
}

export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } }) + '\n';
}

// A file of faass's own configuration that does not parse, or cannot be read: FAASS_E_CONFIG_BROKEN,
// naming the file and what is wrong (a value the user gave on a command line or in an API call is
// FAASS_E_CONFIG_INVALID instead). The reasons name keys, and values only of keys that hold no
// secret (validate.ts, function-config.ts parseEnv), cut to 80 characters.
export function brokenFile(file: string, e: unknown): FaassError {
  if (e instanceof FaassError) return new FaassError('FAASS_E_CONFIG_BROKEN', e.message.startsWith(`${file}: `) ? e.message : `${file}: ${e.message}`);
  const code = (e as NodeJS.ErrnoException).code;
  return new FaassError('FAASS_E_CONFIG_BROKEN', `${file}: cannot be read (${code ?? 'unknown error'})`);
}

export function isBroken(e: unknown): e is FaassError {
  return e instanceof FaassError && e.code === 'FAASS_E_CONFIG_BROKEN';
}
