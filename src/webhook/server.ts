// The admission webhook's HTTPS server, run by every replica on an address of its own (docs/adr/0011-admission-webhook.md).
// `POST /mutate-pods` takes an AdmissionReview and answers from memory (admit.ts); nothing on the request
// path calls the API server. Until the replica's caches have synced it answers every review "allowed,
// unchanged" (outcome `error`), so a replica that is not ready never guesses. HTTP/2 is offered (and
// HTTP/1.1 still answered): the API server then sends every review over one multiplexed connection
// instead of opening a connection, with its TLS handshake, for each review beyond its idle pool, which
// at 200 pod creations per second made the API server wait on the handshakes (BENCHMARKS.md, "Admission
// latency"). Bodies are capped at 4 MiB
// (the API server's own request limit is 3 MiB); a body that is not an AdmissionReview gets 400 with a
// JSON message, which the API server treats as a failed call and, with failurePolicy Ignore, admits the pod
// unchanged. The serving certificate can be replaced while running (`setTls`).
//
// A replica that is shutting down drains before it closes (`drain`): its HTTP/2 clients get a GOAWAY, so
// the API server finishes the reviews it sent and opens a new connection for the next ones, through the
// Service, to a replica that stays; meanwhile the listener still accepts and answers, because the route
// to a pod being deleted outlives its removal from the Service by a moment (kube-proxy's next sync). A
// review the API server cannot deliver is a pod admitted without its entry (failurePolicy Ignore).
import { createSecureServer, type ServerHttp2Session } from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { parseAddress } from '../util/address.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { listenOn } from '../util/server.ts';
import { admit, type AdmissionPort, type Admitted, type Outcome } from './admit.ts';
import { reviewResponse } from '../admission/index.ts';

export const MUTATE_PATH = '/mutate-pods';
export const MAX_REVIEW_BYTES = 4 * 1024 * 1024;
/** A review arrives whole well within the API server's own timeout (at most 30 s); a body slower than this is dropped. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface WebhookTls { cert: string; key: string }

export interface WebhookServerOptions {
  /** `host:port` or `:port`; port 0 picks a free one. */
  addr: string;
  tls: WebhookTls;
  port: AdmissionPort;
  /** Whether the caches the answers come from have synced. */
  ready: () => boolean;
  logger: Logger;
  clock?: Clock;
  /** Called once per review with its outcome and how long the answer took. */
  onAdmission?: (outcome: Outcome, seconds: number) => void;
  /** A pod was admitted into a namespace that lacks the resource's Secret (never called for dry runs). */
  onHurry?: (resource: string, namespace: string) => void;
}

export interface WebhookServer {
  url: string;
  port: number;
  setTls(tls: WebhookTls): void;
  /** GOAWAY to every open HTTP/2 connection, `Connection: close` on HTTP/1.1 answers; the listener stays open. */
  drain(): void;
  /** Closes the listener and drops every connection, whatever is in flight. */
  close(): Promise<void>;
}

/** What the handler uses of a request and a response, over HTTP/1.1 or HTTP/2 (node:http2's compatibility API). */
type Request = Readable & { headers: IncomingHttpHeaders; url?: string; method?: string };
interface Response {
  headersSent: boolean;
  /** HTTP/1.1: the response's socket is gone; HTTP/2: `stream.destroyed` says so. */
  destroyed?: boolean;
  stream?: { destroyed: boolean };
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  end(text: string): unknown;
  on(event: 'error', listener: () => void): unknown;
}

class BodyError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

function readBody(req: Request): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const tooLarge = new BodyError(413, `the request body is larger than ${MAX_REVIEW_BYTES / 1024 / 1024} MiB`);
  if (Number.isFinite(declared) && declared > MAX_REVIEW_BYTES) return Promise.reject(tooLarge);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const slow = setTimeout(() => {
      reject(new BodyError(408, 'the request body did not arrive in time'));
      req.destroy();
    }, REQUEST_TIMEOUT_MS);
    req.on('close', () => { clearTimeout(slow); });
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REVIEW_BYTES) {
        reject(tooLarge);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => { reject(new BodyError(400, 'the request body did not arrive whole')); });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
      } catch {
        reject(new BodyError(400, 'the request body is not JSON')); // the parser's message would quote the body
      }
    });
  });
}

function send(res: Response, status: number, body: unknown, lastOnConnection = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...(lastOnConnection ? { Connection: 'close' } : {}) });
  res.end(text);
}

/** Sends the answer unless the client is gone; while draining, an HTTP/1.1 connection is closed after it (HTTP/2 forbids the header: drain() sent its GOAWAY). */
function reply(req: Request, res: Response, result: Admitted, draining: boolean): void {
  if (res.headersSent || res.destroyed || res.stream?.destroyed) return;
  const http1 = !(req as { httpVersion?: string }).httpVersion?.startsWith('2');
  send(res, result.status, result.body, draining && http1);
}

/** The uid to answer when the body is a review; for the answer a replica that is not ready gives. */
function uidOf(body: unknown): string | undefined {
  const request = (body as { request?: { uid?: unknown } } | null)?.request;
  return typeof request?.uid === 'string' && request.uid !== '' ? request.uid : undefined;
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const clock = opts.clock ?? realClock;
  const log = opts.logger;
  let draining = false;

  async function answer(req: Request): Promise<Admitted> {
    const url = (req.url ?? '/').split('?')[0];
    if (url !== MUTATE_PATH) return { status: 404, body: { message: `not found; reviews go to ${MUTATE_PATH}` }, outcome: 'error', reason: 'not found', hurry: [] };
    if (req.method !== 'POST') return { status: 405, body: { message: 'use POST' }, outcome: 'error', reason: 'not POST', hurry: [] };
    const body = await readBody(req);
    if (!opts.ready()) {
      const uid = uidOf(body);
      const reason = 'this replica\'s caches have not synced yet; not mutated';
      return { status: uid ? 200 : 400, body: uid ? reviewResponse(uid, { outcome: 'error', add: [], reason }) : { message: reason }, outcome: 'error', reason, hurry: [] };
    }
    return admit(body, opts.port);
  }

  async function handle(req: Request, res: Response): Promise<void> {
    const started = clock.nowMs();
    let result: Admitted;
    try {
      result = await answer(req);
    } catch (err) {
      const known = err instanceof BodyError ? err : undefined;
      const reason = known?.message ?? 'internal error';
      result = { status: known?.status ?? 500, body: { message: reason }, outcome: 'error', reason, hurry: [] };
    }
    reply(req, res, result, draining);
    for (const { resource, namespace } of result.hurry) opts.onHurry?.(resource, namespace);
    const seconds = (clock.nowMs() - started) / 1000;
    opts.onAdmission?.(result.outcome, seconds);
    const level = result.outcome === 'error' ? 'info' : 'debug';
    log[level]({ status: result.status, outcome: result.outcome, durationMs: seconds * 1000, reason: result.reason }, 'admission review');
  }

  const server = createSecureServer({ cert: opts.tls.cert, key: opts.tls.key, allowHTTP1: true }, (req, res) => {
    res.on('error', () => undefined);
    handle(req, res).catch(() => { req.destroy(); });
  });
  server.on('clientError', (_err: Error, socket: { destroy(): void }) => { socket.destroy(); });
  server.on('sessionError', () => undefined);
  // Closing drops every connection, idle HTTP/1.1 keep-alives and HTTP/2 sessions alike.
  // A connection accepted just before close() whose handshake ends after it is dropped as it arrives.
  const open = new Set<{ destroy(): void; once(event: 'close', listener: () => void): unknown }>();
  let closing = false;
  const track = (conn: { destroy(): void; once(event: 'close', listener: () => void): unknown }) => {
    if (closing) {
      conn.destroy();
      return;
    }
    open.add(conn);
    conn.once('close', () => { open.delete(conn); });
  };
  /** The HTTP/2 connections opened before the drain began: those are asked to go away. */
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    track(session);
    if (draining) return;
    sessions.add(session);
    session.once('close', () => { sessions.delete(session); });
  });
  server.on('secureConnection', (socket: TLSSocket) => { if (socket.alpnProtocol !== 'h2') track(socket); });
  const parsed = parseAddress(opts.addr);
  if (!parsed) throw new Error(`invalid webhook address "${opts.addr}": want host:port or :port`);
  const address = await listenOn(server, parsed.port, parsed.host);
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.info({ addr: `${urlHost}:${address.port}` }, 'admission webhook listening');
  return {
    url: `https://${urlHost}:${address.port}`,
    port: address.port,
    setTls(next) { server.setSecureContext({ cert: next.cert, key: next.key }); },
    drain() {
      if (draining) return;
      draining = true;
      log.info({ connections: sessions.size }, 'admission webhook draining');
      for (const session of sessions) session.close();
      sessions.clear();
    },
    close: () => new Promise<void>((resolve) => {
      closing = true;
      server.close(() => { resolve(); });
      for (const conn of open) conn.destroy();
    }),
  };
}
