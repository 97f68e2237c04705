// The chart's builder certificate: one Secret every replica mounts, made by Helm (default), by
// cert-manager (self-signed CA chain or a named issuer) or given by the user, always for the Service's DNS
// names, which the chart also passes to the daemon. cert-manager is not installed on the testbed (no
// network beyond package registries), so its objects are checked by rendering and `helm lint` only; the
// default rendering's server-side dry run is in chart.test.ts.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR, renderChart, runHelm } from '../support/helm.ts';

interface Obj {
  kind: string;
  metadata: { name: string };
  type?: string;
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

interface Container { args: string[]; env: { name: string; value?: string }[]; volumeMounts: { name: string; mountPath: string }[] }
interface PodSpec { containers: Container[]; volumes: { name: string; secret?: { secretName: string } }[] }

async function render(set: Record<string, string> = {}): Promise<Obj[]> {
  const text = await renderChart({ release: 'rel', namespace: 'ops', set });
  return parseAllDocuments(text).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
}

function pod(objects: Obj[]): PodSpec {
  const deployment = objects.find((o) => o.kind === 'Deployment');
  return (deployment?.spec as { template: { spec: PodSpec } }).template.spec;
}

/** The Secret the pod mounts for the builder and the TLS environment the daemon gets. */
function tlsWiring(objects: Obj[]): { secretName?: string; env: Record<string, string | undefined>; serviceArg?: string } {
  const spec = pod(objects);
  const container = spec.containers[0]!;
  const env = Object.fromEntries(container.env.filter((e) => e.name.startsWith('PULLSECRET_SYNC_BUILDER_TLS')).map((e) => [e.name, e.value]));
  const mount = container.volumeMounts.find((m) => m.mountPath === '/etc/pullsecret-sync/builder-tls');
  const secretName = spec.volumes.find((v) => v.name === mount?.name)?.secret?.secretName;
  return { ...(secretName ? { secretName } : {}), env, ...(container.args.find((a) => a.startsWith('--builder-service=')) ? { serviceArg: container.args.find((a) => a.startsWith('--builder-service=')) } : {}) };
}

const SERVICE_NAMES = ['rel-pullsecret-sync', 'rel-pullsecret-sync.ops', 'rel-pullsecret-sync.ops.svc', 'rel-pullsecret-sync.ops.svc.cluster.local'];

test('by default Helm generates one CA and serving certificate for the Service, mounted by every replica', async () => {
  const objects = await render();
  const service = objects.find((o) => o.kind === 'Service');
  assert.equal(service?.metadata.name, 'rel-pullsecret-sync');
  const wiring = tlsWiring(objects);
  assert.equal(wiring.serviceArg, '--builder-service=rel-pullsecret-sync', 'the daemon is told the Service name');
  assert.equal(wiring.secretName, 'rel-pullsecret-sync-builder-tls');
  assert.deepEqual(wiring.env, {
    PULLSECRET_SYNC_BUILDER_TLS_CERT: '/etc/pullsecret-sync/builder-tls/tls.crt',
    PULLSECRET_SYNC_BUILDER_TLS_KEY: '/etc/pullsecret-sync/builder-tls/tls.key',
    PULLSECRET_SYNC_BUILDER_TLS_CA: '/etc/pullsecret-sync/builder-tls/ca.crt',
  });
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === wiring.secretName);
  assert.equal(secret?.type, 'kubernetes.io/tls');
  const pem = (key: string): string => Buffer.from(secret.data?.[key] ?? '', 'base64').toString();
  const leaf = new X509Certificate(pem('tls.crt'));
  const ca = new X509Certificate(pem('ca.crt'));
  assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'the serving certificate is signed by the served CA');
  for (const name of SERVICE_NAMES) assert.equal(leaf.checkHost(name), name, name);
  assert.ok(new Date(leaf.validTo).getTime() - Date.now() > 3000 * 24 * 3600 * 1000, 'valid for builder.tls.validityDays');
  assert.ok(pem('tls.key').includes('PRIVATE KEY'));
});

test('with cert-manager and no issuer named, the chart makes a self-signed CA chain and a Certificate for the Service', async () => {
  const objects = await render({ 'builder.tls.certManager.enabled': 'true' });
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  assert.deepEqual(byKind('Issuer').map((o) => Object.keys(o.spec ?? {})), [['selfSigned'], ['ca']]);
  const [caCert, serving] = byKind('Certificate');
  assert.equal(caCert?.spec?.isCA, true);
  assert.deepEqual(serving?.spec?.dnsNames, SERVICE_NAMES);
  assert.deepEqual(serving.spec.issuerRef, { name: 'rel-pullsecret-sync-builder-ca', kind: 'Issuer', group: 'cert-manager.io' });
  assert.equal(byKind('Secret').length, 0, 'cert-manager writes the Secret');
  const wiring = tlsWiring(objects);
  assert.equal(wiring.secretName, serving.spec.secretName);
  assert.ok(wiring.env.PULLSECRET_SYNC_BUILDER_TLS_CA, 'the chart-made CA is served');
});

test('with a named issuer, one Certificate from it; with a user Secret, that Secret; neither serves a CA it did not make', async () => {
  const named = await render({ 'builder.tls.certManager.enabled': 'true', 'builder.tls.certManager.issuerRef.name': 'corp', 'builder.tls.certManager.issuerRef.kind': 'ClusterIssuer' });
  assert.deepEqual(named.filter((o) => o.kind === 'Issuer'), []);
  const certificates = named.filter((o) => o.kind === 'Certificate');
  assert.equal(certificates.length, 1);
  assert.deepEqual(certificates[0]?.spec?.issuerRef, { name: 'corp', kind: 'ClusterIssuer', group: 'cert-manager.io' });
  assert.equal(tlsWiring(named).env.PULLSECRET_SYNC_BUILDER_TLS_CA, undefined);

  const own = await render({ 'builder.tls.secretName': 'my-tls' });
  assert.deepEqual(own.filter((o) => ['Secret', 'Certificate', 'Issuer'].includes(o.kind)), []);
  const wiring = tlsWiring(own);
  assert.equal(wiring.secretName, 'my-tls');
  assert.equal(wiring.env.PULLSECRET_SYNC_BUILDER_TLS_CA, undefined);
});

test('helm lint is clean for every certificate source; bad cert-manager values are rejected', async () => {
  for (const set of [['--set', 'builder.tls.certManager.enabled=true'],
    ['--set', 'builder.tls.certManager.enabled=true', '--set', 'builder.tls.certManager.issuerRef.name=corp']]) {
    const result = await runHelm(['lint', '--strict', CHART_DIR, ...set]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  }
  const bad = await runHelm(['template', 'rel', CHART_DIR, '--set', 'builder.tls.certManager.issuerRef.kind=Other']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /issuerRef/);
});
