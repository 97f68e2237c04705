// A TCP proxy on loopback that can be paused: while paused it forwards nothing in either direction and
// closes nothing, the way a dead NAT entry or a hung middlebox holds a connection open while bytes go
// nowhere. Resuming delivers what was held, as TCP retransmission would once the path heals; a
// connection one side closed during the pause is reset on both sides instead (its path never came back).
import { createServer, connect, type Socket } from 'node:net';

export interface PausableProxy {
  /** Loopback port clients connect to. */
  port: number;
  pause(): void;
  resume(): void;
  /** Connections currently proxied. */
  connections(): number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  closedDuringPause: boolean;
  /** Bytes read while paused, per destination, delivered on resume. */
  held: Map<Socket, Buffer[]>;
}

export async function startPausableProxy(target: { host: string; port: number }): Promise<PausableProxy> {
  const pairs = new Set<Pair>();
  let paused = false;
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const pair: Pair = { client, upstream, closedDuringPause: false, held: new Map([[client, []], [upstream, []]]) };
    pairs.add(pair);
    const end = () => {
      if (paused) {
        pair.closedDuringPause = true;
        return;
      }
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      from.on('data', (chunk: Buffer) => {
        if (paused) pair.held.get(to)?.push(chunk);
        else if (!to.destroyed) to.write(chunk);
      });
      from.on('error', end);
      from.on('close', end);
    }
  });
  server.on('error', () => undefined); // a listening loopback server has nothing to report mid-test
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy: no port');
  return {
    port: address.port,
    pause: () => { paused = true; },
    resume: () => {
      paused = false;
      for (const p of [...pairs]) {
        if (p.closedDuringPause) {
          pairs.delete(p);
          p.client.resetAndDestroy();
          p.upstream.resetAndDestroy();
        } else {
          for (const [to, chunks] of p.held) for (const chunk of chunks.splice(0)) to.write(chunk);
        }
      }
    },
    connections: () => pairs.size,
    close: () => new Promise<void>((resolve) => {
      for (const p of pairs) { p.client.destroy(); p.upstream.destroy(); }
      pairs.clear();
      server.close(() => { resolve(); });
    }),
  };
}
