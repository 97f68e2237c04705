// A reconcile's signal reaches every call its Writes make: once aborted, nothing more is sent and each
// call rejects at once with the signal's reason (the shutdown of a finalize over thousands of Secrets).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRest } from '../../../src/kube/rest.ts';
import { Writes } from '../../../src/kube/writes.ts';

test('Writes under an aborted signal send nothing and reject with its reason', async () => {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', skipTLSVerify: true, server: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}` }],
    users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const rest = new KubeRest(kc, { qps: 0 });
  try {
    const abort = new AbortController();
    const writes = new Writes(rest).under(abort.signal);
    const secret = { apiVersion: 'v1' as const, kind: 'Secret' as const, metadata: { name: 's', namespace: 'ns', uid: 'u1' } };
    await writes.deleteSecret(secret);
    assert.equal(requests, 1, 'a live signal lets the call through');
    const reason = new Error('cancelled: the workers stopped');
    abort.abort(reason);
    await assert.rejects(writes.deleteSecret(secret), reason);
    await assert.rejects(writes.isManagedSecret('ns', 's'), reason);
    await assert.rejects(writes.patchStatus('/apis/x/v1/things/t', {}), reason);
    assert.equal(requests, 1, 'nothing was sent after the abort');
  } finally {
    rest.close();
    server.close();
  }
});
