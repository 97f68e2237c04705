// How a request reaches the API server. Over TLS (every real cluster): HTTP/2 streams on pooled sessions
// (h2-pool.ts). Over plain http (a local `kubectl proxy`, never a cluster): HTTP/1.1 with an unbounded
// keep-alive agent, so a watch holding a socket never makes a call wait for one.
// Contract of both: `send` resolves once the response headers arrived; aborting `signal` at any time
// cancels the exchange (before the headers: `send` rejects with the signal's reason; after: the body
// emits 'error' or ends). Every stream and socket has its 'error' handler here, so a connection reset
// mid-body surfaces as a body 'error' (or a rejected promise), never as an unhandled event.
import { constants, type SecureClientSessionOptions } from 'node:http2';
import { PassThrough, type Readable } from 'node:stream';
import { H2Pool } from './h2-pool.ts';

// Not an ES import: that builds node:http's module facade, which loads Node's bundled undici
// (src/util/defer-imports.ts, standInSource).
const { Agent, request } = process.getBuiltinModule('node:http');

export interface OutgoingRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface Exchange {
  status: number;
  body: Readable;
}

export interface Transport {
  send(req: OutgoingRequest, signal: AbortSignal): Promise<Exchange>;
  close(): void;
}

export interface Http2TransportOptions {
  /** TLS options of a new connection; asked for at every connection (h2-pool.ts). */
  tls: () => SecureClientSessionOptions;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  onSessionEnd?: (reason: string) => void;
}

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2); kubeconfig auth never needs them. */
const connectionHeaders = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

export class Http2Transport implements Transport {
  private pool: H2Pool | undefined;
  private closed = false;

  constructor(private readonly origin: URL, private readonly opts: Http2TransportOptions) {}

  send(req: OutgoingRequest, signal: AbortSignal): Promise<Exchange> {
    if (this.closed) return Promise.reject(new Error('the API client is closed'));
    const pool = (this.pool ??= new H2Pool(this.origin.origin, this.opts));
    const headers: Record<string, string> = { ':method': req.method, ':path': `${req.url.pathname}${req.url.search}` };
    for (const [name, value] of Object.entries(req.headers)) {
      const lower = name.toLowerCase();
      if (!connectionHeaders.has(lower)) headers[lower] = value;
    }
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(reasonOf(signal));
        return;
      }
      let stream: ReturnType<H2Pool['request']>;
      try {
        stream = pool.request(headers, req.body === undefined);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      // The body the caller reads: stream errors and cancellation arrive here as 'error'.
      const body = new PassThrough();
      let answered = false;
      const onAbort = () => {
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        if (answered) body.destroy(reasonOf(signal));
        else reject(reasonOf(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      stream.on('error', (err: Error) => {
        if (answered) body.destroy(err);
        else reject(err);
      });
      stream.on('close', () => {
        signal.removeEventListener('abort', onAbort);
        if (!answered) reject(new Error(`the API server connection closed before a response (HTTP/2 code ${stream.rstCode})`));
        else if (!body.writableEnded && !body.destroyed) {
          // Closed without END_STREAM (RST_STREAM, a destroyed session): the body is incomplete.
          body.destroy(new Error(`the API server connection closed mid-response (HTTP/2 code ${stream.rstCode})`));
        }
      });
      stream.on('response', (h) => {
        answered = true;
        resolve({ status: h[':status'] ?? 0, body });
      });
      stream.on('data', (chunk: Buffer) => { body.write(chunk); });
      stream.on('end', () => { body.end(); });
      if (req.body !== undefined) stream.end(req.body);
    });
  }

  /** Ends every session and stream; later requests fail at once. */
  close(): void {
    this.closed = true;
    this.pool?.close();
  }
}

function reasonOf(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('request aborted');
}

export class Http1Transport implements Transport {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity });

  send(req: OutgoingRequest, signal: AbortSignal): Promise<Exchange> {
    return new Promise((resolve, reject) => {
      const r = request(req.url, { method: req.method, headers: req.headers, agent: this.agent, signal }, (res) => {
        res.on('error', () => undefined); // the caller reads `res` and gets the same error from it
        resolve({ status: res.statusCode ?? 0, body: res });
      });
      r.on('error', reject);
      r.end(req.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
