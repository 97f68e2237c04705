// The Helm chart: lints clean, renders what the API server accepts (server-side dry run on the testbed),
// carries the CRD byte for byte, rejects bad values through values.schema.json, hardens the pod, and
// grants exactly the RBAC it documents: enough to list namespaces and Secrets, nothing unrelated.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { KubeRest } from '../../src/kube/rest.ts';
import { ensureHelm, ensureKubectl } from '../testbed/binaries.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import { currentTestbed } from '../testbed/testbed.ts';
import { applyChartRbac, canDo, chartRules, type ChartRbac } from '../support/chart-rbac.ts';
import { uniqueName } from '../support/eventually.ts';
import { CHART_DIR, renderChart, runHelm } from '../support/helm.ts';

interface Obj {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

const admin = new KubeRest(adminKubeConfig(), { qps: 100, burst: 100 });
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  admin.close();
});

function parseObjects(text: string): Obj[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
}

async function newNamespace(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await admin.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name } } });
  cleanups.push(() => admin.call({ method: 'DELETE', path: `/api/v1/namespaces/${name}` }));
  return name;
}

/** Runs the testbed's kubectl against the testbed with `input` on stdin. */
async function kubectl(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = await ensureKubectl();
  const child = spawn(bin, ['--kubeconfig', currentTestbed().kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdin.end(input);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => { resolve(c ?? -1); });
  });
  return { code, stdout, stderr };
}

test('the chart tests run the pinned helm release', async () => {
  const { version } = await ensureHelm();
  const result = await runHelm(['version', '--template', '{{.Version}}']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, version);
});

test('helm lint is clean, with and without the optional objects', async () => {
  for (const set of [[], ['--set', 'serviceMonitor.enabled=true', '--set', 'prometheusRule.enabled=true', '--set', 'builder.tls.secretName=tls',
    '--set', 'grafanaDashboard.enabled=true']]) {
    const result = await runHelm(['lint', '--strict', CHART_DIR, ...set]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.doesNotMatch(result.stdout, /\[(WARNING|ERROR)\]/);
    assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

test('the rendered chart passes a server-side dry run on the API server', async () => {
  const namespace = await newNamespace('chart-dry-run');
  const variants: Record<string, string>[] = [{}, { 'builder.tls.secretName': 'builder-tls', replicaCount: '3', 'grafanaDashboard.enabled': 'true' }];
  for (const set of variants) {
    const manifest = await renderChart({ release: 'pullsecret-sync', namespace, includeCrds: true, set });
    const kinds = parseObjects(manifest).map((o) => o.kind).sort();
    assert.deepEqual(kinds, ['ClusterRole', 'ClusterRoleBinding', ...(Object.hasOwn(set, 'grafanaDashboard.enabled') ? ['ConfigMap'] : []), 'CustomResourceDefinition',
      'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', ...(Object.hasOwn(set, 'builder.tls.secretName') ? [] : ['Secret']), 'Service', 'ServiceAccount']);
    const result = await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=chart-test', '--dry-run=server', '-f', '-'], manifest);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.match(/serverside-applied \(server dry run\)/g)?.length, kinds.length, result.stdout);
  }
});

const monitoring = { 'serviceMonitor.enabled': 'true', 'prometheusRule.enabled': 'true' };

test('ServiceMonitor and PrometheusRule render only when enabled', async () => {
  const plain = parseObjects(await renderChart({ release: 'rel', namespace: 'ops' })).map((o) => o.kind);
  assert.ok(!plain.includes('ServiceMonitor') && !plain.includes('PrometheusRule'));
  const objects = parseObjects(await renderChart({ release: 'rel', namespace: 'ops', set: monitoring }));
  const service = objects.find((o) => o.kind === 'Service');
  const monitor = objects.find((o) => o.kind === 'ServiceMonitor');
  assert.ok(service && monitor);
  const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
  for (const [k, v] of Object.entries(spec.selector.matchLabels)) assert.equal(service.metadata.labels?.[k], v);
  assert.deepEqual(spec.endpoints.map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
});

test('the PrometheusRule has the documented alerts', async () => {
  const rule = parseObjects(await renderChart({ release: 'rel', namespace: 'ops', set: monitoring })).find((o) => o.kind === 'PrometheusRule');
  const alerts = (rule?.spec as { groups: { rules: { alert: string; expr: string; for: string }[] }[] }).groups.flatMap((g) => g.rules);
  const byName = new Map(alerts.map((a) => [a.alert, a]));
  assert.deepEqual([...byName.keys()].sort(), ['PullSecretSyncAdmissionWebhookFailing', 'PullSecretSyncNoLeader', 'PullSecretSyncSyncFailing', 'PullSecretSyncTokenExpiringSoon']);
  const expiring = byName.get('PullSecretSyncTokenExpiringSoon');
  const failing = byName.get('PullSecretSyncSyncFailing');
  const noLeader = byName.get('PullSecretSyncNoLeader');
  assert.ok(expiring && failing && noLeader);
  // The expressions' behaviour is unit-tested with promtool in alerts.test.ts; here: the values reach them.
  assert.match(expiring.expr, /pullsecret_sync_token_expiry_timestamp_seconds\{namespace="ops"\} - time\(\)\)\s*<\s*0\.25 \* /);
  assert.match(expiring.expr, /pullsecret_sync_token_refresh_timestamp_seconds\{namespace="ops"\}/);
  assert.match(failing.expr, /\(pullsecret_sync_resource_ready\{namespace="ops"\}\) == 0/);
  assert.match(failing.expr, /rate\(pullsecret_sync_reconcile_errors_total\{namespace="ops"\}\[5m\]\)\) > 0/);
  assert.equal(failing.for, '15m');
  assert.match(noLeader.expr, /max by \(namespace\) \(pullsecret_sync_leader\{namespace="ops"\}\) == 0/);
  assert.equal(noLeader.for, '5m');
  const webhook = byName.get('PullSecretSyncAdmissionWebhookFailing');
  assert.match(webhook?.expr ?? '', /pullsecret_sync_admission_requests_total\{namespace="ops",outcome="error"\}\[5m\]/);
  assert.equal(webhook?.for, '10m');
});

test('the chart carries the CRDs of crds/ byte for byte', () => {
  const root = join(CHART_DIR, '..', '..', 'crds');
  const chart = join(CHART_DIR, 'crds');
  const files = readdirSync(root).sort();
  assert.ok(files.length > 0);
  assert.deepEqual(readdirSync(chart).sort(), files, 'same files in crds/ and the chart (run npm run generate)');
  for (const file of files) {
    assert.ok(readFileSync(join(root, file)).equals(readFileSync(join(chart, file))), `${file} differs: run npm run generate`);
  }
});

test('values.schema.json rejects bad values', async () => {
  const wrongType = await runHelm(['template', 'rel', CHART_DIR, '--set', 'replicaCount=notanumber']);
  assert.notEqual(wrongType.code, 0);
  assert.match(wrongType.stderr, /replicaCount/);
  const unknown = await runHelm(['template', 'rel', CHART_DIR, '--set', 'replicas=2']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /replicas/);
});

test('the Deployment runs hardened, two replicas, with probes on the health port', async () => {
  const deployment = parseObjects(await renderChart({ release: 'rel', namespace: 'ops' })).find((o) => o.kind === 'Deployment');
  const spec = deployment?.spec as { replicas: number; template: { spec: Record<string, unknown> } };
  assert.equal(spec.replicas, 2);
  const pod = spec.template.spec as { terminationGracePeriodSeconds: number; containers: Record<string, unknown>[] };
  assert.equal(pod.terminationGracePeriodSeconds, 30);
  const container = pod.containers[0] as {
    args: string[]; env: { name: string; valueFrom?: unknown }[]; ports: { name: string; containerPort: number }[];
    securityContext: Record<string, unknown>; livenessProbe: { httpGet: { path: string; port: string } }; readinessProbe: { httpGet: { path: string; port: string } };
  };
  assert.equal(container.args[0], 'run');
  assert.deepEqual(container.env.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } });
  assert.deepEqual(container.ports.map((p) => [p.name, p.containerPort]), [['metrics', 8080], ['health', 8081], ['builder', 8443], ['webhook', 9443]]);
  assert.deepEqual([container.livenessProbe.httpGet, container.readinessProbe.httpGet], [{ path: '/healthz', port: 'health' }, { path: '/readyz', port: 'health' }]);
  assert.deepEqual(container.securityContext, {
    runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
    privileged: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
  });
});

test('the outbound policy and IMPS adoption are chart values, passed as the flags of run', async () => {
  const argsOf = async (set: Record<string, string>) => {
    const deployment = parseObjects(await renderChart({ release: 'rel', namespace: 'ops', set })).find((o) => o.kind === 'Deployment');
    const spec = deployment?.spec as { template: { spec: { containers: { args: string[] }[] } } };
    return (spec.template.spec.containers[0]?.args ?? []).filter((a) => /^--(outbound|adopt)/.test(a));
  };
  assert.deepEqual(await argsOf({}), []);
  assert.deepEqual(await argsOf({ 'config.outboundHosts': '{169.254.169.254,*.corp.example}', 'config.outboundFiles': '{/var/run/secrets/tokens}',
    'config.adoptImpsSecrets': 'true' }),
  ['--outbound-hosts=169.254.169.254,*.corp.example', '--outbound-files=/var/run/secrets/tokens', '--adopt-imps-secrets=true']);
  await assert.rejects(renderChart({ release: 'rel', namespace: 'ops', set: { 'config.outboundFiles': '{relative/dir}' } }), /outboundFiles/);
});

test('the admission engine is a chart value; the policy engine\'s full RBAC rule only where it may run, else list and delete to remove its leftovers', async () => {
  const rendered = async (engine?: string) => parseObjects(await renderChart({ release: 'rel', namespace: 'ops',
    set: engine ? { 'config.admissionEngine': engine } : {} }));
  const engineArg = (objects: Awaited<ReturnType<typeof rendered>>) => {
    const spec = objects.find((o) => o.kind === 'Deployment')?.spec as { template: { spec: { containers: { args: string[] }[] } } };
    return spec.template.spec.containers[0]?.args.filter((a) => a.startsWith('--admission-engine'));
  };
  const policyVerbs = (objects: Awaited<ReturnType<typeof rendered>>) => (objects.find((o) => o.kind === 'ClusterRole') as unknown as
    { rules: { resources: string[]; verbs: string[] }[] }).rules.filter((r) => r.resources.includes('mutatingadmissionpolicies')).map((r) => r.verbs);
  const full = ['list', 'watch', 'create', 'update', 'delete'];
  for (const [engine, verbs] of [[undefined, full], ['policy', full], ['webhook', ['list', 'delete']], ['off', ['list', 'delete']]] as const) {
    const objects = await rendered(engine);
    assert.deepEqual(engineArg(objects), [`--admission-engine=${engine ?? 'auto'}`]);
    assert.deepEqual(policyVerbs(objects), [verbs], `engine ${engine ?? 'auto'}`);
  }
  await assert.rejects(rendered('mutating'), /admissionEngine/);
});

test('the webhook engine (auto or webhook) gets its port, flags, Service port and RBAC limited to its one configuration; policy and off only watch and delete that one', async () => {
  for (const [engine, on] of [[undefined, true], ['webhook', true], ['policy', false], ['off', false]] as const) {
    const objects = parseObjects(await renderChart({ release: 'rel', namespace: 'ops',
      set: { ...(engine ? { 'config.admissionEngine': engine } : {}), 'admissionWebhook.timeoutSeconds': '3' } }));
    const deployment = objects.find((o) => o.kind === 'Deployment')?.spec as { template: { spec: { containers: { args: string[]; ports: { name: string }[] }[] } } };
    const [container] = deployment.template.spec.containers;
    assert.ok(container);
    const service = objects.find((o) => o.kind === 'Service')?.spec as { ports: { name: string; port: number; targetPort: string }[] };
    const role = objects.find((o) => o.kind === 'ClusterRole') as unknown as { rules: { resources: string[]; verbs: string[]; resourceNames?: string[] }[] };
    const webhookRules = role.rules.filter((r) => r.resources.includes('mutatingwebhookconfigurations'));
    const label = `engine ${engine ?? 'auto'}`;
    assert.deepEqual(container.args.filter((a) => a.startsWith('--webhook-')), on ? ['--webhook-addr=:9443', '--webhook-timeout=3s', '--webhook-drain=3s'] : [], label);
    assert.equal(container.ports.some((p) => p.name === 'webhook'), on, label);
    assert.deepEqual(service.ports.filter((p) => p.name === 'webhook'), on ? [{ name: 'webhook', port: 9443, targetPort: 'webhook', protocol: 'TCP' }] : [], label);
    assert.deepEqual(webhookRules, on ? [{ apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], verbs: ['create'] },
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: ['rel-pullsecret-sync.ops'],
        verbs: ['list', 'watch', 'update', 'delete'] }]
      : [{ apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: ['rel-pullsecret-sync.ops'],
        verbs: ['list', 'watch', 'delete'] }], label);
  }
  for (const bad of ['0', '31', '1.5']) {
    await assert.rejects(renderChart({ release: 'rel', namespace: 'ops', set: { 'admissionWebhook.timeoutSeconds': bad } }), /timeoutSeconds/);
  }
});

test('every RBAC rule is the documented one and says why it is needed', async () => {
  const rules = await chartRules();
  assert.deepEqual(rules.map((r) => `${r.kind} ${r.apiGroups.join(',')}/${r.resources.join(',')}: ${r.verbs.join(',')}`), [
    'ClusterRole pullsecret-sync.dev/imagepullsecrets: list,watch,patch',
    'ClusterRole pullsecret-sync.dev/imagepullsecrets/status: patch',
    'ClusterRole /secrets: list,watch,create,update,delete',
    'ClusterRole /namespaces: list,watch',
    'ClusterRole /pods: list,watch',
    'ClusterRole /serviceaccounts: list,watch,patch',
    'ClusterRole events.k8s.io/events: create',
    'ClusterRole authentication.k8s.io/tokenreviews: create',
    'ClusterRole admissionregistration.k8s.io/mutatingadmissionpolicies,mutatingadmissionpolicybindings: list,watch,create,update,delete',
    'ClusterRole admissionregistration.k8s.io/mutatingwebhookconfigurations: create',
    'ClusterRole admissionregistration.k8s.io/mutatingwebhookconfigurations: list,watch,update,delete',
    'Role coordination.k8s.io/leases: get,create,update,watch',
  ]);
  for (const r of rules) assert.ok(r.reason.length > 20, `${r.kind} rule ${r.index} has no comment`);
});

test("the chart's ServiceAccount may list namespaces and Secrets cluster-wide, not ConfigMaps", async () => {
  const rbac: ChartRbac = await applyChartRbac({ namespace: await newNamespace('chart-rbac') });
  cleanups.push(() => rbac.cleanup());
  const asSa = new KubeRest(rbac.kubeConfig);
  try {
    assert.equal(await canDo(asSa, { verb: 'list', group: '', resource: 'namespaces' }), true);
    assert.equal(await canDo(asSa, { verb: 'list', group: '', resource: 'secrets' }), true);
    assert.equal(await canDo(asSa, { verb: 'list', group: '', resource: 'configmaps' }), false);
    assert.equal(await canDo(asSa, { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: rbac.namespace }), true);
    assert.equal(await canDo(asSa, { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'default' }), false);
  } finally {
    asSa.close();
  }
  const namespacesRule = rbac.rules.find((r) => r.resources.includes('namespaces'));
  assert.ok(namespacesRule);
  const without = await applyChartRbac({ namespace: await newNamespace('chart-rbac'), without: { kind: 'ClusterRole', index: namespacesRule.index } });
  cleanups.push(() => without.cleanup());
  const asLimited = new KubeRest(without.kubeConfig);
  try {
    assert.equal(await canDo(asLimited, { verb: 'list', group: '', resource: 'namespaces' }), false);
    assert.equal(await canDo(asLimited, { verb: 'list', group: '', resource: 'secrets' }), true);
  } finally {
    asLimited.close();
  }
});
