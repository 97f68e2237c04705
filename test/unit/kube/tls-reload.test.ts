// TLS material of the kubeconfig is read per connection: after a rotation (the API server's CA, a
// short-lived client certificate from an exec plugin) the next connection uses the new material.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KubeRest } from '../../../src/kube/rest.ts';
import { eventually } from '../../support/eventually.ts';
import { h2Server, kubeConfigFor, selfSigned, within, type H2Loopback } from './loopback.ts';

const dir = mkdtempSync(join(tmpdir(), 'tls-reload-'));
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await within(Promise.resolve(c()), 5000, 'cleanup');
  rmSync(dir, { recursive: true, force: true });
});

/** Ends every connection from the server's side, as an API server restart does; resolves once the client saw it. */
async function dropConnections(server: H2Loopback, replaced: string[]): Promise<void> {
  const before = replaced.length;
  for (const s of server.sessions) s.destroy();
  await eventually(() => replaced.length > before, { message: 'the client sees its connection end' });
}

/** KubeRest options that record each replaced connection. */
function recording(replaced: string[]) {
  return { timeoutMs: 3000, log: (_level: string, msg: string) => { if (msg === 'API server connection replaced') replaced.push(msg); } };
}

test('a rotated CA file is used by the next connection', async () => {
  const [one, two] = [selfSigned('api-one'), selfSigned('api-two')];
  const server = await h2Server(one, (_req, res) => { res.end('{}'); });
  cleanups.push(() => server.close());
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, one.cert);
  const replaced: string[] = [];
  const rest = new KubeRest(await kubeConfigFor(server.url, { caFile, dir }), recording(replaced));
  cleanups.push(() => { rest.close(); });
  await rest.call({ method: 'GET', path: '/version' });

  server.server.setSecureContext({ ...two }); // the API server now presents a certificate of the new CA
  writeFileSync(caFile, two.cert); // and the mounted CA bundle is rotated with it
  await dropConnections(server, replaced);
  await rest.call({ method: 'GET', path: '/version' });
  assert.equal(server.sessions.length, 2);
});

test('a short-lived client certificate from an exec plugin is renewed for the next connection', async () => {
  const server = selfSigned('api');
  const [first, second] = [selfSigned('client-one'), selfSigned('client-two')];
  const seen: string[] = [];
  const api = await h2Server(server, (req, res) => {
    const peer = (req.socket as unknown as { getPeerCertificate: () => { subject?: { CN?: string } } }).getPeerCertificate();
    seen.push(peer.subject?.CN ?? '');
    res.end('{}');
  }, { requestCert: true, rejectUnauthorized: true, ca: [first.cert] });
  cleanups.push(() => api.close());
  // The plugin prints whatever credential file is current; the past expiry makes client-node run it per request.
  const credential = join(dir, 'credential.json');
  const issue = (pem: { cert: string; key: string }) => {
    writeFileSync(credential, JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential',
      status: { clientCertificateData: pem.cert, clientKeyData: pem.key, expirationTimestamp: '2000-01-01T00:00:00Z' } }));
  };
  issue(first);
  const plugin = join(dir, 'plugin.sh');
  writeFileSync(plugin, `#!/bin/sh\ncat ${JSON.stringify(credential)}\n`);
  chmodSync(plugin, 0o755);
  const user = `{exec: {apiVersion: client.authentication.k8s.io/v1, command: ${JSON.stringify(plugin)}, interactiveMode: Never}}`;
  const replaced: string[] = [];
  const rest = new KubeRest(await kubeConfigFor(api.url, { ca: server.cert, user }), recording(replaced));
  cleanups.push(() => { rest.close(); });
  await rest.call({ method: 'GET', path: '/version' });

  api.server.setSecureContext({ ...server, ca: [second.cert] }); // the old client certificate is no longer accepted
  issue(second);
  await dropConnections(api, replaced);
  await rest.call({ method: 'GET', path: '/version' });
  assert.deepEqual(seen, ['client-one', 'client-two']);
});
