// Stopping an informer cancels what it has in flight, against in-process servers on loopback.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Informer } from '../../../src/kube/informer.ts';
import { OnDemandInformer } from '../../../src/kube/on-demand-informer.ts';
import { KubeRest } from '../../../src/kube/rest.ts';
import type { KubeObject } from '../../../src/kube/store.ts';
import { eventually } from '../../support/eventually.ts';
import { h2Server, http1Server, kubeConfigFor, selfSigned, within } from './loopback.ts';

const pem = selfSigned();
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => { for (const c of cleanups.reverse()) await within(Promise.resolve(c()), 5000, 'cleanup'); });

const pod = (name: string, rv: string) => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

function counting(inf: Informer<KubeObject>): { events: string[] } {
  const seen = { events: [] as string[] };
  inf.on({ add: (o) => seen.events.push(`add ${o.metadata?.name ?? ''}`), update: (_, o) => seen.events.push(`update ${o.metadata?.name ?? ''}`), delete: (o) => seen.events.push(`delete ${o.metadata?.name ?? ''}`) });
  return seen;
}

test('stop() cancels a list in flight over HTTP/2: the stream is reset at once and no handler runs', async () => {
  const closed: string[] = [];
  const server = await h2Server(pem, (req) => { req.on('close', () => closed.push(req.url)); }); // never answers
  cleanups.push(() => server.close());
  const rest = new KubeRest(await kubeConfigFor(server.url, { ca: pem.cert }), { timeoutMs: 60_000 });
  cleanups.push(() => { rest.close(); });
  const inf = new Informer<KubeObject>(rest, { resource: 'pods', path: '/api/v1/pods' });
  const seen = counting(inf);
  inf.start();
  await eventually(() => server.requests.length === 1, { message: 'the list reaches the server' });
  await within(inf.stop(), 2000, 'stop() with a list in flight');
  await eventually(() => closed.length === 1, { message: 'the server sees the list stream end' });
  assert.equal(inf.hasSynced(), false);
  assert.deepEqual(seen.events, []);
  assert.equal(server.requests.length, 1, 'a stopped informer sends nothing more');
});

test('an aborted signal stops the informer like stop(): the list over HTTP/1.1 is cancelled', async () => {
  const server = await http1Server(() => undefined); // never answers
  cleanups.push(() => server.close());
  const rest = new KubeRest(await kubeConfigFor(server.url), { timeoutMs: 60_000 });
  cleanups.push(() => { rest.close(); });
  const controller = new AbortController();
  const inf = new Informer<KubeObject>(rest, { resource: 'pods', path: '/api/v1/pods', signal: controller.signal });
  inf.start();
  await eventually(() => server.requests.length === 1, { message: 'the list reaches the server' });
  controller.abort();
  await within(inf.stop(), 2000, 'the informer loop after its signal aborted');
});

test('stop() cancels a list still waiting for a rate-limit token: it never leaves the process', async () => {
  const server = await h2Server(pem, (_req, res) => { res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [] })); });
  cleanups.push(() => server.close());
  const rest = new KubeRest(await kubeConfigFor(server.url, { ca: pem.cert }), { qps: 0.001, burst: 1, timeoutMs: 60_000 });
  cleanups.push(() => { rest.close(); });
  await rest.call({ method: 'GET', path: '/version' }); // spends the only token for the next 1,000 s
  const inf = new Informer<KubeObject>(rest, { resource: 'pods', path: '/api/v1/pods' });
  inf.start();
  await within(inf.stop(), 2000, 'stop() with a list waiting for a token');
  assert.deepEqual(server.requests, ['/version']);
});

test('stop() ends an open watch: the stream is reset and stop() resolves', async () => {
  const watchClosed = Promise.withResolvers<undefined>();
  const server = await h2Server(pem, (req, res) => {
    if (!req.url.includes('watch=true')) {
      res.end(JSON.stringify({ metadata: { resourceVersion: '5' }, items: [pod('a', '5')] }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(''); // headers sent; no event ever follows
    req.on('close', () => { watchClosed.resolve(undefined); });
  });
  cleanups.push(() => server.close());
  const rest = new KubeRest(await kubeConfigFor(server.url, { ca: pem.cert }));
  cleanups.push(() => { rest.close(); });
  const inf = new Informer<KubeObject>(rest, { resource: 'pods', path: '/api/v1/pods' });
  const seen = counting(inf);
  inf.start();
  await within(inf.whenSynced(), 5000, 'the first list');
  await eventually(() => server.requests.some((r) => r.includes('watch=true')), { message: 'the watch opens' });
  await within(inf.stop(), 2000, 'stop() with a watch open');
  await within(watchClosed.promise, 2000, 'the server seeing the watch end');
  assert.deepEqual(seen.events, ['add a']);
});

test('a list answer that arrives as the informer stops changes neither the store nor any handler', async () => {
  const answer = Promise.withResolvers<unknown>();
  let signal: AbortSignal | undefined;
  // A KubeRest whose list answer is already on its way: it does not honour the abort.
  const rest = {
    call: (spec: { signal?: AbortSignal }) => { signal = spec.signal; return answer.promise; },
    watch: () => new Promise<void>(() => undefined),
  } as unknown as KubeRest;
  const inf = new Informer<KubeObject>(rest, { resource: 'pods', path: '/api/v1/pods' });
  const seen = counting(inf);
  inf.start();
  await eventually(() => signal !== undefined, { message: 'the list is called' });
  const stopped = inf.stop();
  assert.equal(signal?.aborted, true, 'the list call was given a signal that stop() aborts');
  answer.resolve({ metadata: { resourceVersion: '7' }, items: [pod('a', '7'), pod('b', '7')] });
  await within(stopped, 2000, 'stop()');
  assert.deepEqual(seen.events, []);
  assert.equal(inf.store.size, 0);
  assert.equal(inf.hasSynced(), false);
});

test('an on-demand watch no longer wanted cancels its list in flight', async () => {
  const closed: string[] = [];
  const server = await h2Server(pem, (req) => { req.on('close', () => closed.push(req.url)); }); // never answers
  cleanups.push(() => server.close());
  const rest = new KubeRest(await kubeConfigFor(server.url, { ca: pem.cert }), { timeoutMs: 60_000 });
  cleanups.push(() => { rest.close(); });
  const pods = new OnDemandInformer<KubeObject>('pods', () => new Informer<KubeObject>(rest, { resource: 'pods', path: '/api/v1/pods' }));
  pods.want(true);
  await eventually(() => server.requests.length === 1, { message: 'the list reaches the server' });
  pods.want(false);
  await eventually(() => closed.length === 1, { message: 'the server sees the list stream end' });
  await within(pods.stop(), 2000, 'stop()');
});
