// The HTTP/2 pool and transport against an in-process HTTP/2 server on loopback: what a broken, closing
// or full connection does to the requests on it and to the next one.
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { constants } from 'node:http2';
import type { Readable } from 'node:stream';
import { Http2Transport, type Exchange } from '../../../src/kube/transport.ts';
import { eventually } from '../../support/eventually.ts';
import { h2Server, selfSigned, within } from './loopback.ts';

const pem = selfSigned();
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => { for (const c of cleanups.reverse()) await within(Promise.resolve(c()), 5000, 'cleanup'); });

function transportTo(url: string, ends: string[] = [], ping = { pingIntervalMs: 60_000, pingTimeoutMs: 5000 }): Http2Transport {
  const t = new Http2Transport(new URL(url), { tls: () => ({ ca: pem.cert }), ...ping, onSessionEnd: (reason) => { ends.push(reason); } });
  cleanups.push(() => { t.close(); });
  return t;
}

const get = (t: Http2Transport, url: string, path: string, signal = new AbortController().signal): Promise<Exchange> =>
  t.send({ method: 'GET', url: new URL(path, url), headers: { authorization: 'Bearer x' } }, signal);

function text(body: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    body.setEncoding('utf8');
    body.on('data', (c: string) => { s += c; });
    body.on('end', () => { resolve(s); });
    body.on('error', reject);
  });
}

/** A TCP relay in front of `port` that can hold every byte in both directions (a dead NAT entry, a frozen peer). */
async function freezableRelay(port: number): Promise<{ url: string; freeze: () => void }> {
  const sockets: Socket[] = [];
  let frozen = false;
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.push(client, upstream);
    for (const s of [client, upstream]) s.on('error', () => undefined);
    client.on('data', (d) => { if (!frozen) upstream.write(d); });
    upstream.on('data', (d) => { if (!frozen) client.write(d); });
  });
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  cleanups.push(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => { resolve(); }); }));
  const { port: relayPort } = server.address() as { port: number };
  return { url: `https://127.0.0.1:${relayPort}`, freeze: () => { frozen = true; } };
}

test('a peer gone silent is found by PING: the open watch fails, and the next request opens a new connection', async () => {
  const server = await h2Server(pem, (req, res) => {
    if (req.url === '/watch') res.writeHead(200).write('{}\n'); // stays open
    else res.end('ok');
  });
  cleanups.push(() => server.close());
  const relay = await freezableRelay(Number(new URL(server.url).port));
  const ends: string[] = [];
  const t = transportTo(relay.url, ends, { pingIntervalMs: 50, pingTimeoutMs: 200 });
  const watch = await get(t, relay.url, '/watch');
  const watchEnded = text(watch.body).then(() => 'ended cleanly', (err: unknown) => (err as Error).message);
  relay.freeze();
  assert.match(await within(watchEnded, 3000, 'the watch on the silent connection'), /no PING answer within 200 ms/);
  assert.deepEqual(ends, ['no PING answer within 200 ms']);
  // The relay stays frozen; a direct connection to the server shows the pool dialled anew.
  const direct = transportTo(server.url);
  assert.equal(await text((await get(direct, server.url, '/x')).body), 'ok');
});

test('a server that accepts TCP and never finishes TLS fails the request after the PING timeout, not its deadline', async () => {
  const sockets: Socket[] = [];
  const tcp = createServer((s) => { sockets.push(s); s.on('error', () => undefined); }); // never speaks
  await new Promise<void>((resolve) => { tcp.listen(0, '127.0.0.1', resolve); });
  cleanups.push(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); tcp.close(() => { resolve(); }); }));
  const url = `https://127.0.0.1:${(tcp.address() as { port: number }).port}`;
  const ends: string[] = [];
  const t = transportTo(url, ends, { pingIntervalMs: 50, pingTimeoutMs: 200 });
  await assert.rejects(within(get(t, url, '/x'), 3000, 'a request to a server that never handshakes'), /not connected within 200 ms/);
  assert.deepEqual(ends, ['not connected within 200 ms']);
});

test('GOAWAY: the stream in flight completes, later requests go to a new connection', async () => {
  let held: ((s: string) => void) | undefined;
  const server = await h2Server(pem, (req, res) => {
    if (req.url === '/slow') held = (s) => { res.end(s); };
    else res.end('ok');
  });
  cleanups.push(() => server.close());
  const ends: string[] = [];
  const t = transportTo(server.url, ends);
  const slow = get(t, server.url, '/slow');
  await eventually(() => held !== undefined, { message: 'the slow request reaches the server' });
  server.sessions[0]?.goaway(constants.NGHTTP2_NO_ERROR, 1); // last stream id 1: the slow one still counts
  await eventually(() => ends.length === 1, { message: 'the pool takes the GOAWAY session out' });
  assert.deepEqual(ends, ['server sent GOAWAY']);
  assert.equal(await text((await get(t, server.url, '/next')).body), 'ok');
  assert.equal(server.sessions.length, 2, 'the next request dialled a new connection');
  held?.('finished');
  assert.equal(await text((await slow).body), 'finished');
});

test('a stream reset mid-body fails that body only; the connection carries the next request', async () => {
  const server = await h2Server(pem, (req, res) => {
    if (req.url !== '/reset') {
      res.end('ok');
      return;
    }
    res.writeHead(200).write('{"partial":');
    setImmediate(() => { res.stream.close(constants.NGHTTP2_INTERNAL_ERROR); });
  });
  cleanups.push(() => server.close());
  const t = transportTo(server.url);
  const reset = await get(t, server.url, '/reset');
  await assert.rejects(text(reset.body), /NGHTTP2_INTERNAL_ERROR|closed mid-response/);
  assert.equal(await text((await get(t, server.url, '/next')).body), 'ok');
  assert.equal(server.sessions.length, 1);
});

test('streams beyond the server\'s SETTINGS_MAX_CONCURRENT_STREAMS go to another connection, never queue', async () => {
  const server = await h2Server(pem, (req, res) => { if (req.url !== '/hang') res.end('ok'); });
  server.server.updateSettings({ maxConcurrentStreams: 2 });
  cleanups.push(() => server.close());
  const t = transportTo(server.url);
  await text((await get(t, server.url, '/warm')).body); // the server's SETTINGS are known from here on
  const aborts = new AbortController();
  for (let i = 0; i < 2; i++) void get(t, server.url, '/hang', aborts.signal).catch(() => undefined);
  await eventually(() => server.requests.filter((r) => r === '/hang').length === 2, { message: 'two hanging streams' });
  assert.equal(await text((await within(get(t, server.url, '/third'), 3000, 'a third stream')).body), 'ok');
  assert.equal(server.sessions.length, 2);
  aborts.abort();
});

test('aborting before the headers rejects with the signal\'s reason and resets the stream', async () => {
  const closed: string[] = [];
  const server = await h2Server(pem, (req) => { req.on('close', () => closed.push(req.url)); });
  cleanups.push(() => server.close());
  const t = transportTo(server.url);
  const controller = new AbortController();
  const pending = get(t, server.url, '/hang', controller.signal);
  await eventually(() => server.requests.length === 1, { message: 'the request reaches the server' });
  controller.abort(new Error('caller gave up'));
  await assert.rejects(pending, /caller gave up/);
  await eventually(() => closed.length === 1, { message: 'the server sees the stream end' });
});
