// Reading requests and writing answers for the builder front, with the limits that keep every answer a
// JSON body rather than a connection reset: request bodies are capped (413), URLs are capped (414),
// unknown methods get 405 with Allow, and requests Node's parser refuses (header overflow, malformed
// request lines) get a JSON answer from the clientError hook. A refused request whose body is still
// arriving is drained for a bounded time before the socket closes, since closing a socket with unread
// input makes the kernel send a reset instead of our answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpError } from './handlers.ts';

export const MAX_BODY = 64 * 1024;
/** Longest request URL accepted; an image reference plus a query fits many times over. */
export const MAX_URL = 8 * 1024;
/** Request line plus headers Node parses before giving up (its `maxHeaderSize`). */
export const MAX_HEADER_BYTES = 32 * 1024;
const MAX_TOKEN = 16 * 1024;
/** How long and how much of a refused request's remaining input is read and dropped before closing. */
const DRAIN_MS = 2000;
const DRAIN_BYTES = 4 * 1024 * 1024;
const answered = new WeakSet<Duplex>();
const TOO_LARGE = `the request body is larger than ${MAX_BODY / 1024} KiB`;

export function bearer(req: IncomingMessage): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  const token = m?.[1];
  if (!token || token.length > MAX_TOKEN) throw new HttpError(401, 'a ServiceAccount token is required (Authorization: Bearer)');
  return token;
}

/**
 * The request body parsed as JSON, at most MAX_BODY bytes (413 past that, declared or chunked). A body
 * that ends early or whose connection breaks is a 400. Reading stops at the cap without destroying the
 * request, so the answer can still be written and the rest drained (sendAndDrain). A parse error says
 * only that the body is not JSON: the parser's message quotes the body, which may carry credentials.
 */
export function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > MAX_BODY) return Promise.reject(new HttpError(413, TOO_LARGE));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (err?: HttpError) => {
      req.off('data', onData).off('end', onEnd).off('error', onBroken).off('close', onBroken);
      if (err) {
        reject(err);
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'the request body is not JSON'));
      }
    };
    function onData(chunk: Buffer): void {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
      else settle(new HttpError(413, TOO_LARGE));
    }
    function onEnd(): void { settle(); }
    function onBroken(): void { settle(new HttpError(400, 'the request body did not arrive whole')); }
    req.on('error', () => undefined); // an abort after settling is nobody's error
    req.on('data', onData).on('end', onEnd).on('error', onBroken).on('close', onBroken);
  });
}

export function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads and drops whatever input is left on `socket`, for at most DRAIN_MS and DRAIN_BYTES, then closes it. */
export function drainAndClose(socket: Duplex): void {
  if (socket.destroyed) return;
  let drained = 0;
  const timer = setTimeout(() => { socket.destroy(); }, DRAIN_MS);
  timer.unref();
  socket.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_BYTES) socket.destroy();
  });
  socket.on('close', () => { clearTimeout(timer); });
  socket.resume();
}

/**
 * Answers an error on a request still being received: JSON, `Connection: close`, remaining input drained.
 * A request whose connection is already gone (the client aborted) gets nothing: there is no one to answer.
 */
export function sendAndDrain(req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  const socket = req.socket as Duplex | null;
  if (!socket || socket.destroyed) {
    res.destroy();
    return;
  }
  if (!req.complete) res.setHeader('Connection', 'close');
  send(res, status, { message });
  if (!req.complete) {
    req.on('error', () => undefined);
    req.resume();
    drainAndClose(socket);
  }
}

/**
 * The server's clientError hook: requests Node's HTTP parser refuses get a JSON answer. A header overflow
 * is almost always an oversized URL (query strings are where callers put unbounded data), hence 414.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // Node may report one bad request more than once while its input keeps arriving; answer it once.
  if (answered.has(socket)) return;
  answered.add(socket);
  socket.on('error', () => undefined);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, message] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [414, 'URI Too Long', `the request line and headers are longer than ${MAX_HEADER_BYTES / 1024} KiB`]
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout', 'the request took too long to arrive']
      : [400, 'Bad Request', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify({ message });
  socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  drainAndClose(socket);
}
