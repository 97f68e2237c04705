// Binding and closing the daemon's HTTP(S) servers (metrics, health, builder API) the same way.
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';

type Server = HttpServer | HttpsServer;

/** Listens on `host:port` (no host: every interface; port 0: any free port); rejects when it cannot bind. */
export function listenOn(server: NetServer, port: number, host?: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Stops accepting, drops every connection (idle keep-alive ones too) and resolves once the server is closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => { resolve(); });
    server.closeAllConnections();
  });
}
