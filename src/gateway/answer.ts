// The answers the gateway gives itself: errors from the catalog, and a request body read whole.
import type * as http from 'node:http';
import { FaassError } from '../core/errors';
import { readBody, sendError, sendFaassError } from '../core/http-util';

// The catalog (core/errors.ts) decides the status; headers say how to go on (Allow, Retry-After…).
export const refuse = sendError;

// The body, or null when it was answered already (413) or the client went away. Read whole before
// forwarding: an oversize request is a clean 413, not a race with the next hop's early answer.
export async function readWhole(req: http.IncomingMessage, res: http.ServerResponse, limit: number): Promise<Buffer | null> {
  try {
    return await readBody(req, limit);
  } catch (e) {
    if (!(e instanceof FaassError)) {
      res.destroy();
      return null;
    }
    res.shouldKeepAlive = false; // the rest of the body is not read
    sendFaassError(res, e);
    return null;
  }
}
