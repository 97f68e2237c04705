// The daemon's plain-HTTP endpoints: /metrics on the metrics address, /healthz and /readyz on the health
// address. Health answers come from callbacks, so this file knows nothing about the controller.
import type { Server } from 'node:http';
import { parseAddress } from '../util/address.ts';
import { closeServer, listenOn } from '../util/server.ts';
import type { Metrics } from './metrics.ts';

// Not an ES import: that builds node:http's module facade, which loads Node's bundled undici
// (src/util/defer-imports.ts, standInSource).
const { createServer } = process.getBuiltinModule('node:http');

export type Check = () => { ok: boolean; message: string };

export interface HttpServer {
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

async function listen(server: Server, addr: string): Promise<HttpServer> {
  const { host, port } = parseAddress(addr) ?? { port: Number.NaN };
  const address = await listenOn(server, port, host);
  return { port: address.port, close: () => closeServer(server) };
}

export function serveMetrics(addr: string, metrics: Metrics): Promise<HttpServer> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then((body) => {
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(body);
    }, (err: unknown) => {
      res.writeHead(500).end(err instanceof Error ? err.message : 'metrics failed');
    });
  });
  return listen(server, addr);
}

/** `/healthz` (liveness) and `/readyz` (readiness): 200 with "ok", or 503 with the reason. */
export function serveHealth(addr: string, checks: { healthz: Check; readyz: Check }): Promise<HttpServer> {
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    const check = path === '/healthz' ? checks.healthz : path === '/readyz' ? checks.readyz : undefined;
    if (!check) {
      res.writeHead(404).end();
      return;
    }
    const { ok, message } = check();
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(`${message}\n`);
  });
  return listen(server, addr);
}
