// KubeRest's deadline and error mapping against an in-process HTTP/2 server on loopback.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { KubeApiError, KubeRest, KubeTimeoutError, WriteRefusedError } from '../../../src/kube/rest.ts';
import { h2Server, kubeConfigFor, selfSigned, within, type H2Loopback } from './loopback.ts';

const pem = selfSigned();
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => { for (const c of cleanups.reverse()) await within(Promise.resolve(c()), 5000, 'cleanup'); });

/** A server answering each path as `routes` says (status, body); a path without a route never gets an answer. */
async function serve(routes: Record<string, [number, string] | 'stall-body'>): Promise<H2Loopback> {
  const server = await h2Server(pem, (req, res) => {
    const route = routes[new URL(req.url, 'https://x').pathname];
    if (route === 'stall-body') res.writeHead(200).write('{"items":[');
    else if (route) res.writeHead(route[0], { 'content-type': 'application/json' }).end(route[1]);
  });
  cleanups.push(() => server.close());
  return server;
}

async function restFor(server: H2Loopback, opts: ConstructorParameters<typeof KubeRest>[1] = {}, user?: string): Promise<KubeRest> {
  const rest = new KubeRest(await kubeConfigFor(server.url, { ca: pem.cert, ...(user ? { user } : {}) }), opts);
  cleanups.push(() => { rest.close(); });
  return rest;
}

test('a Status answer becomes a KubeApiError with its code, reason and message', async () => {
  const server = await serve({ '/api/v1/namespaces/a/secrets/s': [404, JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'secrets "s" not found' })] });
  const rest = await restFor(server);
  const err = await rest.call({ method: 'GET', path: '/api/v1/namespaces/a/secrets/s' }).catch((e: unknown) => e);
  assert.ok(err instanceof KubeApiError);
  assert.deepEqual([err.code, err.reason, err.message], [404, 'NotFound', 'secrets "s" not found']);
});

test('an answer that is not a Status keeps only the HTTP code: the body never reaches the error', async () => {
  const server = await serve({ '/api/v1/secrets': [502, '<html>upstream token=hunter2</html>'] });
  const rest = await restFor(server);
  const err = await rest.call({ method: 'GET', path: '/api/v1/secrets' }).catch((e: unknown) => e);
  assert.ok(err instanceof KubeApiError);
  assert.deepEqual([err.code, err.reason, err.message], [502, 'Unknown', 'HTTP 502']);
  assert.doesNotMatch(String((err as Error).stack), /hunter2/);
});

test('a malformed answer or watch line is reported by path and size: its text, which may be Secret data, never reaches the error', async () => {
  const truncated = '{"items":[{"data":{".dockerconfigjson":"c2VjcmV0LXZhbHVl';
  const server = await serve({ '/api/v1/secrets': [200, truncated], '/api/v1/namespaces': [200, `${truncated}\n`] });
  const rest = await restFor(server);
  const call = await rest.call({ method: 'GET', path: '/api/v1/secrets' }).catch((e: unknown) => e);
  assert.ok(call instanceof Error);
  assert.equal(call.message, `the answer to /api/v1/secrets is not JSON (${String(truncated.length)} bytes)`);
  const watch = await rest.watch({ path: '/api/v1/namespaces' }, () => undefined, new AbortController().signal).catch((e: unknown) => e);
  assert.ok(watch instanceof Error);
  for (const err of [call, watch]) assert.doesNotMatch(`${err.message} ${String(err.stack)}`, /c2VjcmV0|dockerconfigjson/);
});

test('a watch answered with an error status rejects with a KubeApiError', async () => {
  const server = await serve({ '/api/v1/pods': [403, JSON.stringify({ reason: 'Forbidden', message: 'pods is forbidden' })] });
  const rest = await restFor(server);
  await assert.rejects(rest.watch({ path: '/api/v1/pods' }, () => undefined, new AbortController().signal),
    (err: unknown) => err instanceof KubeApiError && err.code === 403 && err.reason === 'Forbidden');
});

test('the deadline covers headers that never come and a body that stalls', async () => {
  const server = await serve({ '/api/v1/stalled': 'stall-body' });
  const rest = await restFor(server, { timeoutMs: 200 });
  await assert.rejects(within(rest.call({ method: 'GET', path: '/api/v1/nothing' }), 3000, 'a call with no answer'),
    (err: unknown) => err instanceof KubeTimeoutError && /no answer within 200 ms/.test(err.message));
  await assert.rejects(within(rest.call({ method: 'GET', path: '/api/v1/stalled', timeoutMs: 100 }), 3000, 'a call whose body stalls'),
    (err: unknown) => err instanceof KubeTimeoutError && /no answer within 100 ms/.test(err.message));
});

test('the deadline covers the wait for a rate-limit token: a call that queued past it is never sent', async () => {
  const server = await serve({ '/version': [200, '{}'] });
  const rest = await restFor(server, { qps: 0.01, burst: 1 });
  await rest.call({ method: 'GET', path: '/version' }); // the only token for the next 100 s
  await assert.rejects(within(rest.call({ method: 'GET', path: '/version', timeoutMs: 100 }), 3000, 'a queued call'), KubeTimeoutError);
  assert.deepEqual(server.requests, ['/version']);
});

test('the deadline covers an exec credential plugin that hangs', async () => {
  const server = await serve({ '/version': [200, '{}'] });
  const hanging = '{exec: {apiVersion: client.authentication.k8s.io/v1, command: sh, args: ["-c", "sleep 2"], interactiveMode: Never}}';
  const rest = await restFor(server, { timeoutMs: 200 }, hanging);
  await assert.rejects(within(rest.call({ method: 'GET', path: '/version' }), 1500, 'a call behind a hung exec plugin'), KubeTimeoutError);
  assert.deepEqual(server.requests, []);
});

test('the write gate refuses a write before anything is sent', async () => {
  const server = await serve({ '/api/v1/namespaces/a/secrets': [201, '{}'] });
  const rest = await restFor(server, { mayWrite: () => false });
  await assert.rejects(rest.call({ method: 'POST', path: '/api/v1/namespaces/a/secrets', body: { data: { k: 'c2VjcmV0' } } }),
    (err: unknown) => err instanceof WriteRefusedError && err.message === 'refused to create secrets: this replica is not the leader');
  assert.deepEqual(server.requests, []);
});
