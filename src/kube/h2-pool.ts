// HTTP/2 sessions to the API server, as client-go's transport keeps them: every call and watch is a stream
// multiplexed on a shared TLS connection, so watches never hold a connection a call waits for. Contract:
// - A stream goes to the first live session with a free stream slot (the server's
//   SETTINGS_MAX_CONCURRENT_STREAMS, 250 for kube-apiserver); when every session is full, another session
//   opens, so any number of watches leaves room for calls.
// - A session that errors, closes or receives GOAWAY takes no new streams; its open streams end with it
//   (a watch then restarts from its informer) and the next request opens a fresh session.
// - Every session is pinged every `pingIntervalMs`; no answer within `pingTimeoutMs` means the connection
//   is half-open (a dead NAT entry, a frozen peer) and the session is destroyed, which errors its streams.
// - TLS options are asked for at every new connection, never kept: a rotated CA, or a short-lived client
//   certificate from an exec plugin, is used by the next connection (one that is open stays as it was
//   authenticated at its handshake).
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders, type SecureClientSessionOptions } from 'node:http2';

export interface H2PoolOptions {
  /** TLS options of a new session (CA, client certificate, key, rejectUnauthorized), asked for per connection. */
  tls: () => SecureClientSessionOptions;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** Told when a session is replaced, for logs. */
  onSessionEnd?: (reason: string) => void;
}

interface Entry {
  session: ClientHttp2Session;
  active: number;
  usable: boolean;
  ping: NodeJS.Timeout;
}

/** Streams the server lets one session carry before its SETTINGS frame arrives (RFC 9113 leaves it unbounded; be modest). */
const INITIAL_STREAM_LIMIT = 100;

export class H2Pool {
  private readonly entries: Entry[] = [];
  private closed = false;

  constructor(private readonly origin: string, private readonly opts: H2PoolOptions) {}

  /** Opens a stream; the caller owns it and must handle its 'error' event. */
  request(headers: OutgoingHttpHeaders, endStream: boolean): ClientHttp2Stream {
    if (this.closed) throw new Error('the API client is closed');
    const entry = this.pick();
    const stream = entry.session.request(headers, { endStream });
    if (entry.active++ === 0) entry.session.ref();
    stream.once('close', () => { if (--entry.active === 0 && !entry.session.destroyed) entry.session.unref(); });
    return stream;
  }

  /** Destroys every session; open streams end with an error. */
  close(): void {
    this.closed = true;
    for (const entry of [...this.entries]) this.retire(entry, 'client closed', true);
  }

  /** Sessions currently open (for tests and metrics). */
  get size(): number {
    return this.entries.length;
  }

  private pick(): Entry {
    for (const entry of this.entries) {
      if (entry.usable && !entry.session.destroyed && entry.active < limitOf(entry.session)) return entry;
    }
    return this.open();
  }

  private open(): Entry {
    const session = connect(this.origin, { ...this.opts.tls(), ALPNProtocols: ['h2'] });
    const ping = setInterval(() => { this.ping(entry); }, this.opts.pingIntervalMs);
    ping.unref();
    const entry: Entry = { session, active: 0, usable: true, ping };
    this.entries.push(entry);
    session.on('error', (err: Error) => { this.retire(entry, `session error: ${err.message}`, true); });
    session.on('goaway', () => { this.retire(entry, 'server sent GOAWAY', false); });
    session.on('close', () => { this.retire(entry, 'session closed', false); });
    // A connection that never completes its TLS handshake (a frozen or black-holed server) counts as
    // half-open too: without this its queued streams would wait for their own deadlines forever after.
    const connecting = setTimeout(() => { this.retire(entry, `not connected within ${this.opts.pingTimeoutMs} ms`, true); }, this.opts.pingTimeoutMs);
    connecting.unref();
    session.once('connect', () => { clearTimeout(connecting); });
    session.once('close', () => { clearTimeout(connecting); });
    // An idle session must not keep the process alive (as an idle keep-alive socket does not); a session
    // with open streams does, so a one-shot command never exits in the middle of a request.
    session.unref();
    return entry;
  }

  private ping(entry: Entry): void {
    if (!entry.usable || entry.session.destroyed || entry.session.connecting) return;
    const timer = setTimeout(() => { this.retire(entry, `no PING answer within ${this.opts.pingTimeoutMs} ms`, true); }, this.opts.pingTimeoutMs);
    timer.unref();
    const sent = entry.session.ping((err) => {
      clearTimeout(timer);
      if (err && entry.usable) this.retire(entry, `PING failed: ${err.message}`, true);
    });
    if (!sent) clearTimeout(timer);
  }

  /** Takes a session out of rotation; `destroy` also ends its open streams (a broken connection). */
  private retire(entry: Entry, reason: string, destroy: boolean): void {
    const index = this.entries.indexOf(entry);
    if (index >= 0) {
      this.entries.splice(index, 1);
      if (!this.closed) this.opts.onSessionEnd?.(reason);
    }
    entry.usable = false;
    clearInterval(entry.ping);
    if (destroy) entry.session.destroy(new Error(`API server connection lost: ${reason}`), constants.NGHTTP2_CANCEL);
    else if (!entry.session.closed) entry.session.close();
  }
}

function limitOf(session: ClientHttp2Session): number {
  // Before the server's SETTINGS frame, remoteSettings holds the protocol default (unbounded).
  const max = session.remoteSettings.maxConcurrentStreams;
  return max === undefined || max > 2 ** 31 ? INITIAL_STREAM_LIMIT : max;
}
