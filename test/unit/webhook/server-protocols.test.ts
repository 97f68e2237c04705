// The webhook's server answers reviews over HTTP/2 (what the API server negotiates when offered: every
// review on one connection) and over HTTP/1.1, both on many requests of one connection; a body that is not
// JSON gets 400 on either; closing the server drops open connections instead of waiting for them; draining
// sends open HTTP/2 connections away while new ones are still answered.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { Agent, request } from 'node:https';
import { after, before, test } from 'node:test';
import pino from 'pino';
import type { ImagePullSecret } from '../../../src/api/v1alpha1/types.ts';
import { generateTls } from '../../../src/builder/tls.ts';
import type { AdmissionPort } from '../../../src/webhook/admit.ts';
import { MUTATE_PATH, startWebhookServer, type WebhookServer } from '../../../src/webhook/server.ts';

const ips: ImagePullSecret = {
  apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'a', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { registry: { credentials: [{ name: 'hub', namespace: 'src' }] }, target: { namespaces: { names: ['team-a'] }, secret: { name: 'regcred' }, pods: { inject: true } } },
};
const port: AdmissionPort = {
  ownNamespace: 'pullsecret-sync',
  namespace: (name) => ({ metadata: { name } }),
  resources: () => [ips],
  unwritten: () => [],
};
const review = (uid: string) => JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: { uid, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'CREATE',
    namespace: 'team-a', userInfo: { username: 'u' }, object: { metadata: {}, spec: { containers: [{ name: 'c', image: 'r.io/app' }] } } },
});

let server: WebhookServer;
let ca: string;
const outcomes: string[] = [];

before(async () => {
  const tls = await generateTls({ hosts: ['127.0.0.1'] });
  ca = tls.ca ?? tls.cert;
  server = await startWebhookServer({ addr: '127.0.0.1:0', tls, port, ready: () => true, logger: pino({ level: 'silent' }),
    onAdmission: (outcome) => { outcomes.push(outcome); } });
});

after(async () => { await server.close(); });

interface Reply { status: number; body: { response?: { uid: string; allowed: boolean; patchType?: string }; message?: string } }

/** A review's stream on `session`; its answer resolves once the caller has sent the body. */
function reviewStream(session: ReturnType<typeof connect>): { stream: ReturnType<ReturnType<typeof connect>['request']>; reply: Promise<Reply> } {
  const stream = session.request({ ':method': 'POST', ':path': MUTATE_PATH, 'content-type': 'application/json' });
  const reply = new Promise<Reply>((resolve, reject) => {
    let status = 0;
    let text = '';
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => { text += c; });
    stream.on('end', () => { resolve({ status, body: JSON.parse(text) as Reply['body'] }); });
    stream.on('error', reject);
  });
  return { stream, reply };
}

function overHttp2(session: ReturnType<typeof connect>, body: string): Promise<Reply> {
  const { stream, reply } = reviewStream(session);
  stream.end(body);
  return reply;
}

function overHttp1(agent: Agent, body: string): Promise<Reply & { protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${MUTATE_PATH}`, { method: 'POST', agent, ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, protocol: `HTTP/${res.httpVersion}`, body: JSON.parse(text) as Reply['body'] }); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('reviews over HTTP/2, twenty at once on one connection, are answered', async () => {
  const session = connect(server.url, { ca });
  try {
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => overHttp2(session, review(`h2-${String(i)}`))));
    for (const [i, reply] of replies.entries()) {
      assert.equal(reply.status, 200);
      assert.equal(reply.body.response?.uid, `h2-${String(i)}`);
      assert.equal(reply.body.response.allowed, true);
      assert.equal(reply.body.response.patchType, 'JSONPatch', 'the pod in a selected namespace gets the entry');
    }
    const bad = await overHttp2(session, '{not json');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.message, 'the request body is not JSON');
  } finally {
    session.close();
  }
});

test('reviews over HTTP/1.1 are answered as before', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await overHttp1(agent, review('h1-1'));
    const second = await overHttp1(agent, review('h1-2'));
    assert.equal(first.protocol, 'HTTP/1.1');
    assert.deepEqual([first.status, first.body.response?.uid, second.status, second.body.response?.uid], [200, 'h1-1', 200, 'h1-2']);
    const bad = await overHttp1(agent, '{not json');
    assert.equal(bad.status, 400);
  } finally {
    agent.destroy();
  }
});

test('closing the server drops an open HTTP/2 connection instead of waiting for it', async () => {
  const other = await startWebhookServer({ addr: '127.0.0.1:0', tls: await generateTls({ hosts: ['127.0.0.1'] }), port, ready: () => true,
    logger: pino({ level: 'silent' }) });
  const session = connect(other.url, { rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => { session.once('connect', () => { resolve(); }); session.once('error', reject); });
  const closed = new Promise<void>((resolve) => { session.once('close', () => { resolve(); }); });
  session.on('error', () => undefined);
  await other.close();
  await closed;
});

test('draining asks an open HTTP/2 connection to go away, finishes its review in flight, and still answers a new connection and HTTP/1.1', { timeout: 10_000 }, async () => {
  const tls = await generateTls({ hosts: ['127.0.0.1'] });
  const other = await startWebhookServer({ addr: '127.0.0.1:0', tls, port, ready: () => true, logger: pino({ level: 'silent' }) });
  const otherCa = tls.ca ?? tls.cert;
  const session = connect(other.url, { ca: otherCa });
  session.on('error', () => undefined);
  const away = new Promise<void>((resolve) => { session.once('goaway', () => { resolve(); }); });
  try {
    // A review whose body is half sent when the drain begins.
    const body = review('in-flight');
    await new Promise<void>((resolve) => { if (session.connecting) session.once('connect', () => { resolve(); }); else resolve(); });
    const { stream, reply: answered } = reviewStream(session);
    stream.write(body.slice(0, 40));
    // The server answers a PING after every frame sent before it: the stream has reached it.
    await new Promise<void>((resolve, reject) => { session.ping((err) => { if (err) reject(err); else resolve(); }); });
    other.drain();
    await away;
    stream.end(body.slice(40));
    const inFlight = await answered;
    assert.deepEqual([inFlight.status, inFlight.body.response?.uid], [200, 'in-flight'], 'the review in flight is answered');

    const fresh = connect(other.url, { ca: otherCa });
    fresh.on('error', () => undefined);
    try {
      const after = await overHttp2(fresh, review('during-drain'));
      assert.deepEqual([after.status, after.body.response?.uid, after.body.response?.patchType], [200, 'during-drain', 'JSONPatch'], 'a new connection is answered');
    } finally {
      fresh.close();
    }
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const h1 = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        const req = request(`${other.url}${MUTATE_PATH}`, { method: 'POST', agent, ca: otherCa, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => { resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }); });
        });
        req.on('error', reject);
        req.end(review('h1-during-drain'));
      });
      assert.deepEqual(h1, { status: 200, connection: 'close' }, 'an HTTP/1.1 answer closes its connection');
    } finally {
      agent.destroy();
    }
  } finally {
    session.destroy();
    await other.close();
  }
});
