// A call's deadline covers its wait in the client's rate limiter: a call that queued past it fails with
// KubeTimeoutError and is never sent. Against an in-process HTTP server that counts what reaches it.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRest, KubeTimeoutError } from '../../../src/kube/rest.ts';

test('a call still queued in the rate limiter at its deadline fails and never reaches the server', { timeout: 10_000 }, async () => {
  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(`${req.method ?? ''} ${req.url ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'local', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'anon' }],
    contexts: [{ name: 'local', cluster: 'local', user: 'anon' }],
    currentContext: 'local',
  });
  // One request per 10 s after the first: the second waits far longer than its 200 ms deadline.
  const rest = new KubeRest(kc, { qps: 0.1, burst: 1 });
  try {
    // The first call only takes the burst token: its deadline is not under test, and a loaded machine may be slow to answer.
    await rest.call({ method: 'PUT', path: '/apis/coordination.k8s.io/v1/namespaces/a/leases/first', body: {}, timeoutMs: 5_000 });
    await assert.rejects(rest.call({ method: 'PUT', path: '/apis/coordination.k8s.io/v1/namespaces/a/leases/queued', body: {}, timeoutMs: 200 }), KubeTimeoutError);
    const aborted = new AbortController();
    const third = rest.call({ method: 'PUT', path: '/apis/coordination.k8s.io/v1/namespaces/a/leases/cancelled', body: {}, signal: aborted.signal });
    aborted.abort(new Error('stopped'));
    await assert.rejects(third, /stopped/);
    assert.deepEqual(received, ['PUT /apis/coordination.k8s.io/v1/namespaces/a/leases/first']);
  } finally {
    rest.close();
    await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
  }
});
