// Typed view of docker-engine.js (shared with bench/).
import type Docker from 'dockerode';
import * as path from 'node:path';
import { ROOT } from './root';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const engine = require(path.join(ROOT, 'test', 'support', 'docker-engine.js')) as {
  startEngine(onTeardown: (f: () => Promise<void>) => void): Promise<Engine>;
  BUSYBOX: string;
};

export interface Engine {
  socket: string;
  docker: Docker;
  countContainers(fn?: string): Promise<number>;
}

export const BUSYBOX = engine.BUSYBOX;
export const startEngine = (t: { teardown(f: () => unknown): void }): Promise<Engine> => engine.startEngine((f) => t.teardown(f));
