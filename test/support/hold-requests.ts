/**
 * Test support (not part of the Operator): hold the real Operator's HTTP requests that match a
 * method and path until released, so a test can act while a request is in flight without racing
 * a clock (e.g. press Cancel before a vouch's proof is made, however fast the machine proves).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** A gate in front of `server`: matching requests wait until `release()`, which lets them through and removes the gate. */
export function holdRequests(server: Server, method: string, path: string): { release(): void } {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  const pass = (req: IncomingMessage, res: ServerResponse) => { for (const h of handlers) h.call(server, req, res); };
  let waiting: (() => void)[] | undefined = [];
  const gate = (req: IncomingMessage, res: ServerResponse) => {
    if (waiting && req.method === method && req.url?.split('?')[0] === path) { waiting.push(() => pass(req, res)); } else pass(req, res);
  };
  server.removeAllListeners('request');
  server.on('request', gate);
  return {
    release() {
      server.removeListener('request', gate);
      for (const h of handlers) server.on('request', h);
      const q = waiting ?? [];
      waiting = undefined;
      for (const go of q) go();
    },
  };
}
