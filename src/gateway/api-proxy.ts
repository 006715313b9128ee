// The management API, forwarded to faass-api's unix socket: that program may write settings
// and units, this one (facing the network) may not. Who may reach it is decided before
// (authorize.ts: admins only).
import * as http from 'node:http';
import * as path from 'node:path';
import { Paths } from '../core/paths';
import { refuse } from './answer';
import { requestHeaders, responseHeaders } from './headers';
import { CREDENTIAL_HEADER } from '../core/http-util';

// JSON requests; code uploads (a function's, a stack's up) may be as large as any call's body (max_body).
const API_MAX_BODY = 1024 * 1024;
const CODE_UPLOAD = /^\/system\/(function\/[^/?]+\/code|stack\/[^/?]+\/up)(\?|$)/;


export class ApiProxy {
  private readonly socketPath: string;
  // Open streams, and how to end each cleanly (a gateway's stop: endStreams).
  private readonly streams = new Set<() => void>();

  constructor(
    paths: Paths,
    private readonly maxBody: number,
    private readonly timeoutSeconds: number, // a call's timeout; a deploy may take longer (builds)
  ) {
    this.socketPath = path.join(paths.runtimeDir, 'api.sock');
  }

  bodyLimit(url: string): number {
    return CODE_UPLOAD.test(url) ? this.maxBody : API_MAX_BODY;
  }

  // The request without the caller's credential (faass-api trusts its socket's peers), with its
  // name instead (X-Faass-Credential: who deployed a version); a client's own header of that name
  // is dropped, so none can pass for another.
  forward(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, credential: string | null): void {
    const headers = requestHeaders(req, false);
    delete headers[CREDENTIAL_HEADER];
    if (credential !== null) headers[CREDENTIAL_HEADER] = credential;
    headers['content-length'] = String(body.length);
    const up = http.request({ socketPath: this.socketPath, path: req.url, method: req.method, headers, agent: false, timeout: (this.timeoutSeconds + 120) * 1000 }, (r) => {
      // A stream (a log tail, api/logs.ts NDJSON) lasts as long as its client wants it: no
      // timeout for quiet between its lines.
      if (isStream(r.headers['content-type'])) {
        up.setTimeout(0);
        const end = () => {
          r.unpipe(res);
          res.end(); // the last chunk: the client sees an answer that ended, and resumes with after=
          up.destroy();
        };
        this.streams.add(end);
        res.once('close', () => this.streams.delete(end));
      }
      res.writeHead(r.statusCode ?? 502, responseHeaders(r.headers, true));
      res.flushHeaders();
      r.pipe(res);
    });
    up.on('timeout', () => up.destroy(new Error('timeout')));
    // The client went away before the answer ended: so does the API's request, which ends what
    // serves it (a log tail's journalctl). pipe() alone would leave it open.
    res.once('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    up.on('error', (e: NodeJS.ErrnoException) => {
      if (res.writableEnded) return; // a stream this end ended (endStreams)
      if (res.headersSent || res.destroyed) return void res.destroy();
      refuse(res, 'FAASS_E_API_UNREACHABLE', `The management API does not answer (${e.code ?? e.message}); is faass-api.socket enabled (systemctl --user enable --now faass-api.socket)?`);
    });
    up.end(body);
  }

  // A stop of the gateway ends its open streams at once, rather than holding the stop for its
  // drain time (a log tail never finishes by itself).
  endStreams(): void {
    for (const end of this.streams) end();
  }
}

const isStream = (type: string | undefined): boolean => (type ?? '').split(';')[0].trim().toLowerCase() === 'application/x-ndjson';
