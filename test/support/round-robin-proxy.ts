// A loopback TCP proxy that hands each new connection to the next backend in turn, as a Service's
// kube-proxy rules spread connections over the ready endpoints. TLS passes through untouched, so a client
// sees each backend's own certificate.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface RoundRobinProxy {
  /** `127.0.0.1:port` clients connect to. */
  address: string;
  port: number;
  /** Connections handed to each backend, by index. */
  connections: number[];
  close(): Promise<void>;
}

export async function startRoundRobinProxy(backends: { host: string; port: number }[]): Promise<RoundRobinProxy> {
  const connections = backends.map(() => 0);
  const sockets = new Set<Socket>();
  let next = 0;
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => { sockets.delete(s); });
    s.on('error', () => { s.destroy(); });
  };
  const server: Server = createServer((client) => {
    const index = next++ % backends.length;
    const backend = backends[index]!;
    connections[index] = (connections[index] ?? 0) + 1;
    const upstream = connect(backend.port, backend.host);
    track(client);
    track(upstream);
    upstream.setTimeout(30_000, () => { upstream.destroy(); });
    client.pipe(upstream).pipe(client);
    client.on('close', () => { upstream.destroy(); });
    upstream.on('close', () => { client.destroy(); });
  });
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${String(port)}`, port, connections,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => { resolve(); });
    }),
  };
}
