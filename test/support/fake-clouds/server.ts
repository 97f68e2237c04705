// Plumbing shared by the fake cloud servers: listen on loopback (HTTP, or HTTPS with a certificate from
// the testbed CA), read bodies, answer JSON, mint random tokens. Each fake keeps its own protocol logic.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeServer, listenOn } from '../../../src/util/server.ts';
import { issueServing } from '../../testbed/pki.ts';
import { currentTestbed } from '../../testbed/testbed.ts';

/** What every fake exposes. `requests` counts the token-issuing requests; set `fail` for HTTP 500s. */
export interface FakeServer {
  readonly url: string;
  /** `127.0.0.1:<port>` */
  readonly host: string;
  readonly requests: number;
  fail: boolean;
  close(): Promise<void>;
}

export interface Tls {
  /** PEM */
  cert: string;
  /** PEM */
  key: string;
  /** PEM of the CA that signed `cert`, for clients. */
  ca: string;
}

/** A serving certificate for 127.0.0.1 / localhost, issued by the testbed CA. */
export async function servingCert(name: string): Promise<Tls> {
  const { pki } = currentTestbed();
  const dir = mkdtempSync(join(tmpdir(), `${name}-tls-`));
  try {
    const pair = await issueServing(dir, name, pki.ca);
    return { cert: readFileSync(pair.cert, 'utf8'), key: readFileSync(pair.key, 'utf8'), ca: readFileSync(pki.ca.cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Listening {
  url: string;
  host: string;
  close: () => Promise<void>;
}

/** Starts `handler` on 127.0.0.1 with an ephemeral port; HTTPS when `tls` is given. */
export async function listen(handler: RequestListener, tls?: Tls): Promise<Listening> {
  const server: Server = tls ? createHttps({ cert: tls.cert, key: tls.key }, handler) : createHttp(handler);
  const address = await listenOn(server, 0, '127.0.0.1');
  const host = `127.0.0.1:${address.port}`;
  return { url: `${tls ? 'https' : 'http'}://${host}`, host, close: () => closeServer(server) };
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams(await readBody(req));
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A random URL-safe string of `bytes` random bytes. */
export const randomToken = (bytes = 24): string => randomBytes(bytes).toString('base64url');

/** Wraps an async handler so a thrown error becomes a 500 instead of an unhandled rejection. */
export function handle(fn: (req: IncomingMessage, res: ServerResponse) => Promise<void>): RequestListener {
  return (req, res) => {
    fn(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err) });
      else res.destroy();
    });
  };
}
