// etcd, kube-apiserver and kube-controller-manager on loopback, the way envtest runs them, plus the
// controller manager so namespace deletion and garbage collection really happen.
import { request } from 'node:https';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Binaries } from './binaries.ts';
import type { Pki } from './pki.ts';
import { freePort, startProcess, waitFor, type Started } from './processes.ts';

export interface ControlPlane {
  processes: Started[];
  server: string;
  kubeconfig: string;
}

/** GET over TLS with the admin client certificate; resolves the HTTP status. */
export function adminGet(url: string, pki: Pki, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, {
      ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.admin.cert), key: readFileSync(pki.admin.key), timeout: 2000,
    }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export function kubeconfigYaml(server: string, pki: Pki): string {
  const b64 = (path: string) => readFileSync(path).toString('base64');
  return [
    'apiVersion: v1', 'kind: Config', 'current-context: testbed', 'preferences: {}',
    'clusters:', '- name: testbed', '  cluster:', `    server: ${server}`, `    certificate-authority-data: ${b64(pki.ca.cert)}`,
    'users:', '- name: admin', '  user:', `    client-certificate-data: ${b64(pki.admin.cert)}`, `    client-key-data: ${b64(pki.admin.key)}`,
    'contexts:', '- name: testbed', '  context:', '    cluster: testbed', '    user: admin', '',
  ].join('\n');
}

async function startEtcd(dir: string, bin: Binaries): Promise<{ proc: Started; url: string }> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const proc = startProcess('etcd', bin.etcd, [
    `--name=testbed`, `--data-dir=${join(dir, 'etcd-data')}`,
    `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=testbed=http://127.0.0.1:${peer}`,
    // A test store: durability across power loss is worth nothing here, speed is.
    '--unsafe-no-fsync', '--log-level=warn', '--quota-backend-bytes=4294967296',
  ], join(dir, 'etcd.log'));
  await waitFor('etcd', async () => (await fetch(`${url}/health`)).ok, 30_000, proc);
  return { proc, url };
}

/**
 * The API server listens on loopback only. It advertises the bed's bridge address (network.ts), so the
 * `kubernetes` Service's endpoint is where the node's forwarder (node.ts) lets pods reach it.
 */
async function startApiserver(dir: string, bin: Binaries, pki: Pki, etcdUrl: string, advertise: string): Promise<{ proc: Started; server: string }> {
  const port = await freePort();
  const server = `https://127.0.0.1:${port}`;
  const proc = startProcess('kube-apiserver', bin.kubeApiserver, [
    `--etcd-servers=${etcdUrl}`, '--bind-address=127.0.0.1', `--advertise-address=${advertise}`, `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'apiserver-certs')}`,
    `--tls-cert-file=${pki.apiserver.cert}`, `--tls-private-key-file=${pki.apiserver.key}`,
    `--client-ca-file=${pki.ca.cert}`, '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.serviceAccount.pub}`, `--service-account-signing-key-file=${pki.serviceAccount.key}`,
    '--service-cluster-ip-range=10.0.0.0/24', '--allow-privileged=true', '--profiling=false',
    '--enable-priority-and-fairness=false',
    // `kubectl logs`, `exec` and `port-forward` reach the node's kubelet (node.ts) as the bed's admin.
    `--kubelet-client-certificate=${pki.admin.cert}`, `--kubelet-client-key=${pki.admin.key}`,
    '--kubelet-preferred-address-types=InternalIP',
  ], join(dir, 'kube-apiserver.log'));
  await waitFor('kube-apiserver', async () => (await adminGet(server, pki, '/readyz')) === 200, 120_000, proc);
  return { proc, server };
}

/**
 * The controllers the bed always runs. nodelifecycle lifts a new node's not-ready taint (node.ts). Not
 * root-ca-cert-publisher: a ConfigMap in every namespace costs the fault tests' thousands of namespaces a
 * write each; the node adds it (NODE_CONTROLLERS).
 */
export const BASE_CONTROLLERS = ['namespace', 'garbagecollector', 'serviceaccount', 'clusterrole-aggregation', 'nodelifecycle'];

/**
 * What a bed with a node adds: what a Deployment, a Service and a PodDisruptionBudget need (the API
 * server's Service proxy still reads v1 Endpoints), and the
 * `kube-root-ca.crt` ConfigMap in-cluster clients verify the API server with.
 */
export const NODE_CONTROLLERS = [...BASE_CONTROLLERS, 'deployment', 'replicaset', 'endpointslice', 'endpoints-controller', 'disruption', 'root-ca-cert-publisher'];

export async function startControllerManager(dir: string, bin: Binaries, pki: Pki, kubeconfig: string, controllers = BASE_CONTROLLERS): Promise<Started> {
  const port = await freePort();
  const proc = startProcess('kube-controller-manager', bin.kubeControllerManager, [
    `--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1', `--secure-port=${port}`, `--cert-dir=${join(dir, 'kcm-certs')}`,
    '--leader-elect=false', `--root-ca-file=${pki.ca.cert}`,
    `--controllers=${controllers.join(',')}`,
    // Fault tests delete a thousand namespaces at once; at client-go's default 20 QPS the namespace
    // controller would take many minutes to drain them, and later tests would wait behind that backlog.
    '--concurrent-gc-syncs=5', '--concurrent-namespace-syncs=10', '--kube-api-qps=300', '--kube-api-burst=600',
  ], join(dir, 'kube-controller-manager.log'));
  // The controller manager serves /healthz with a certificate it made itself; this loopback probe only
  // asks whether it is up, so it does not verify that certificate.
  await waitFor('kube-controller-manager', () => new Promise<boolean>((resolve) => {
    request(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    }).on('error', () => { resolve(false); }).end();
  }), 60_000, proc);
  return proc;
}

/** Starts the control plane in `dir` and returns once the API server is ready and the controller manager is healthy. */
export async function startControlPlane(dir: string, bin: Binaries, pki: Pki, advertise: string): Promise<ControlPlane> {
  mkdirSync(dir, { recursive: true });
  const etcd = await startEtcd(dir, bin);
  const api = await startApiserver(dir, bin, pki, etcd.url, advertise);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(api.server, pki), { mode: 0o600 });
  const kcm = await startControllerManager(dir, bin, pki, kubeconfig);
  // The ServiceAccount controller creating `default` in `default` proves the controller manager acts.
  await waitFor('default ServiceAccount', async () =>
    (await adminGet(api.server, pki, '/api/v1/namespaces/default/serviceaccounts/default')) === 200, 60_000, kcm);
  return { processes: [etcd.proc, api.proc, kcm], server: api.server, kubeconfig };
}
