// A real node for the testbed: containerd and runc from Debian, CNI bridge + host-local + loopback +
// portmap from Debian, and kubelet and kube-scheduler built from the control plane's Kubernetes release.
// Pods get an address on a bridge of the bed's own (its subnet chosen per bed); containerd's state, the
// pods' network namespaces, the kubelet's directories and the pod cgroups all live under the bed, so
// stopNode can remove exactly what this node made. Why each machine-specific setting is there:
// test/testbed/README.md, "The node".
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { promisify } from 'node:util';
import { ensurePackages } from './apt.ts';
import { ensureNodeBinaries } from './binaries.ts';
import { bedNetwork } from './network.ts';
import { buildPauseImage, PAUSE_IMAGE } from './images.ts';
import type { Pki } from './pki.ts';
import { ownsProcess, startProcess, stopProcess, waitFor, type Started } from './processes.ts';
import { awaitNodeSlot, cleanupKubeProxy, startForwarder, startKubeProxy } from './service-network.ts';

const run = promisify(execFile);

/** One of the CNI plugins the node uses; its package (containernetworking-plugins) brings them all. */
const CNI_PLUGIN = '/usr/lib/cni/bridge';

/**
 * Every pod of the bed's other tests would otherwise be scheduled here too (with images that exist
 * nowhere); the node is tainted, and pods meant for it tolerate the taint (NODE_TOLERATION).
 */
export const NODE_TAINT = { key: 'pullsecret-sync.dev/testbed-node', value: 'true', effect: 'NoSchedule' } as const;
export const NODE_TOLERATION = { key: NODE_TAINT.key, operator: 'Equal', value: NODE_TAINT.value, effect: NODE_TAINT.effect } as const;

export interface NodeInfo {
  /** The Node object's name. */
  name: string;
  dir: string;
  /** The bed's bridge, and the node's address on it (the pods' gateway). */
  bridge: string;
  address: string;
  subnet: string;
  containerdSocket: string;
  /** containerd's hosts directory: `<host:port>/hosts.toml` per registry the node trusts. */
  certsDir: string;
  /** The pod cgroups' parent, one per cgroup v1 controller (kubelet `cgroupRoot`). */
  cgroupRoot: string;
  /** Where pods reach the bed's registry (the forwarder on the bridge address), when the bed has one. */
  registryHost?: string;
  /** kube-proxy's binary: teardown asks it to remove its rules (absent in a state file from an older bed). */
  kubeProxy?: string;
  processes: Started[];
}

export interface NodeOptions {
  dir: string;
  /** The bed's state directory: every process of the node mentions it, so only ours are signalled. */
  bedDir: string;
  kubeconfig: string;
  pki: Pki;
  /** The API server's and the registry's loopback ports, forwarded from the bridge address for the pods. */
  apiserverPort: number;
  registryPort?: number;
  log: (line: string) => void;
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

async function createBridge(net: { bridge: string; address: string }): Promise<void> {
  await run('ip', ['link', 'del', net.bridge]).catch(() => undefined);
  await ip('link', 'add', 'name', net.bridge, 'type', 'bridge');
  await ip('addr', 'add', `${net.address}/24`, 'dev', net.bridge);
  await ip('link', 'set', net.bridge, 'up');
}

function writeCni(dir: string, net: { bridge: string; subnet: string; address: string }): string {
  const confDir = join(dir, 'cni', 'net.d');
  mkdirSync(confDir, { recursive: true });
  writeFileSync(join(confDir, '10-testbed.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'testbed',
    plugins: [
      {
        type: 'bridge', bridge: net.bridge, isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: {
          type: 'host-local', dataDir: join(dir, 'cni', 'ipam'),
          ranges: [[{ subnet: net.subnet, gateway: net.address }]], routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'loopback' },
    ],
  }, null, 2));
  return confDir;
}

function writeContainerdConfig(dir: string, cniConfDir: string, certsDir: string, socket: string): string {
  const file = join(dir, 'containerd.toml');
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  writeFileSync(file, [
    'version = 2',
    `root = "${join(dir, 'containerd', 'root')}"`,
    `state = "${join(dir, 'containerd', 'state')}"`,
    '[grpc]', `  address = "${socket}"`,
    `[${cri}]`,
    `  sandbox_image = "${PAUSE_IMAGE}"`,
    // Writing oom_score_adj is not permitted on these machines; runc fails without this.
    '  restrict_oom_score_adj = true',
    // Pod network namespaces under the bed's state, not /var/run/netns, so teardown finds exactly ours.
    '  netns_mounts_under_state_dir = true',
    `[${cri}.containerd]`, '  snapshotter = "overlayfs"',
    `[${cri}.containerd.runtimes.runc]`, '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`, '  SystemdCgroup = false',
    `[${cri}.cni]`, '  bin_dir = "/usr/lib/cni"', `  conf_dir = "${cniConfDir}"`,
    `[${cri}.registry]`, `  config_path = "${certsDir}"`,
    '',
  ].join('\n'));
  return file;
}

/** The cgroup v1 controllers mounted on this machine (`/sys/fs/cgroup/<name>`). */
function cgroupControllers(): string[] {
  return readdirSync('/sys/fs/cgroup').filter((name) => existsSync(join('/sys/fs/cgroup', name, 'cgroup.procs')));
}

function writeKubeletConfig(dir: string, opts: NodeOptions, socket: string, address: string, cgroupRoot: string): string {
  const file = join(dir, 'kubelet.yaml');
  writeFileSync(file, [
    'apiVersion: kubelet.config.k8s.io/v1beta1',
    'kind: KubeletConfiguration',
    // This machine boots cgroup v1 (hybrid): kubelet ≥ 1.35 refuses it unless told otherwise.
    'failCgroupV1: false',
    'cgroupDriver: cgroupfs',
    `cgroupRoot: ${cgroupRoot}`,
    'failSwapOn: false',
    `containerRuntimeEndpoint: unix://${socket}`,
    `address: ${address}`,
    'readOnlyPort: 0',
    'healthzPort: 0',
    'authentication:', '  anonymous: {enabled: false}', '  webhook: {enabled: false}', `  x509: {clientCAFile: ${opts.pki.ca.cert}}`,
    'authorization: {mode: AlwaysAllow}',
    'resolvConf: ""',
    // Container logs under the bed too (the default is the host's /var/log/pods).
    `podLogsDir: ${join(dir, 'pod-logs')}`,
    // The host's disk is shared with everything else: never evict test pods or collect their images.
    'evictionHard: {}',
    'imageGCHighThresholdPercent: 100',
    'imageGCLowThresholdPercent: 99',
    'enforceNodeAllocatable: []',
    // Benchmarks run a pod in each of a few hundred namespaces; the bridge's /24 has room for 253.
    'maxPods: 250',
    'serializeImagePulls: false',
    'fileCheckFrequency: 1s',
    // The bed has no business filtering the host's loopback traffic (the kubelet's KUBE-FIREWALL).
    'makeIPTablesUtilChains: false',
    'nodeStatusUpdateFrequency: 2s',
    '',
  ].join('\n'));
  return file;
}

async function nodeReady(api: CoreV1Api, name: string): Promise<boolean> {
  const node = await api.readNode({ name });
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  // The node lifecycle controller lifts the not-ready taint once the kubelet reports Ready.
  const tainted = node.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready') ?? false;
  return ready && !tainted;
}

/** Starts containerd, the kubelet and the scheduler; resolves once the node is Ready and schedulable. */
export async function startNode(opts: NodeOptions): Promise<NodeInfo> {
  ensurePackages(['containerd', 'runc', 'ctr', 'ip', 'iptables', 'buildah', 'busybox', 'socat', CNI_PLUGIN], opts.log);
  const bin = await ensureNodeBinaries(opts.log);
  await awaitNodeSlot(opts.bedDir, opts.log);
  const dir = opts.dir;
  mkdirSync(dir, { recursive: true });
  const net = bedNetwork(opts.bedDir);
  const name = 'testbed-node';
  const node: NodeInfo = {
    name, dir, ...net, containerdSocket: join(dir, 'containerd.sock'), certsDir: join(dir, 'certs.d'),
    cgroupRoot: `/pullsecret-sync-${net.bridge}`, kubeProxy: bin.kubeProxy, processes: [],
    ...(opts.registryPort ? { registryHost: `${net.address}:${opts.registryPort}` } : {}),
  };
  mkdirSync(node.certsDir, { recursive: true });
  for (const controller of cgroupControllers()) mkdirSync(join('/sys/fs/cgroup', controller, node.cgroupRoot), { recursive: true });
  await createBridge(net);
  const containerd = startProcess('containerd', 'containerd',
    ['--config', writeContainerdConfig(dir, writeCni(dir, net), node.certsDir, node.containerdSocket)], join(dir, 'containerd.log'));
  node.processes.push(containerd);
  await waitFor('containerd', () => Promise.resolve(existsSync(node.containerdSocket)), 30_000, containerd);
  await buildPauseImage(join(dir, 'images'), node.containerdSocket);

  const kubelet = startProcess('kubelet', bin.kubelet, [
    `--config=${writeKubeletConfig(dir, opts, node.containerdSocket, net.address, node.cgroupRoot)}`,
    `--kubeconfig=${opts.kubeconfig}`, `--root-dir=${join(dir, 'kubelet')}`, `--cert-dir=${join(dir, 'kubelet-pki')}`,
    `--hostname-override=${name}`, `--node-ip=${net.address}`, '--v=1',
    `--register-with-taints=${NODE_TAINT.key}=${NODE_TAINT.value}:${NODE_TAINT.effect}`,
  ], join(dir, 'kubelet.log'));
  node.processes.push(kubelet);
  const scheduler = startProcess('kube-scheduler', bin.kubeScheduler, [
    `--kubeconfig=${opts.kubeconfig}`, `--authentication-kubeconfig=${opts.kubeconfig}`,
    `--authorization-kubeconfig=${opts.kubeconfig}`, '--leader-elect=false', '--bind-address=127.0.0.1', '--secure-port=0',
  ], join(dir, 'kube-scheduler.log'));
  node.processes.push(scheduler);
  try {
    node.processes.push(await startForwarder('apiserver-forward', dir, net.address, opts.apiserverPort));
    if (opts.registryPort) node.processes.push(await startForwarder('registry-forward', dir, net.address, opts.registryPort));
    const kc = new KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
    const api = kc.makeApiClient(CoreV1Api);
    await waitFor(`node ${name} Ready`, () => nodeReady(api, name), 90_000, kubelet);
    const proxy = await startKubeProxy({ dir, bedDir: opts.bedDir, binary: bin.kubeProxy, kubeconfig: opts.kubeconfig, node: name, net });
    node.processes.push(proxy);
    await waitFor('kube-proxy: the kubernetes Service', serviceRuleExists, 30_000, proxy);
  } catch (err) {
    await stopNode(node, opts.bedDir);
    throw err;
  }
  return node;
}

/** Every mount point under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Removes the pod cgroups under the node's cgroupRoot, children before parents. */
function removeCgroups(root: string): void {
  const remove = (path: string): void => {
    if (!existsSync(path)) return;
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory()) remove(join(path, entry.name));
    }
    try {
      rmdirSync(path);
    } catch {
      // A cgroup that still holds a process cannot go; stopNode kills the node's processes first.
    }
  };
  for (const controller of cgroupControllers()) remove(join('/sys/fs/cgroup', controller, root));
}

/**
 * Stops the node and removes what it made: every container (through containerd, before containerd
 * stops), the kubelet and scheduler, containerd, the mounts and network namespaces under the node's
 * directory, the pod cgroups, and the bridge. Bounded: each step has its own deadline.
 */
export async function stopNode(node: NodeInfo, bedDir: string): Promise<void> {
  const [containerd, ...others] = node.processes;
  for (const proc of others.reverse()) if (ownsProcess(proc.pid, bedDir)) await stopProcess(proc.pid);
  if (containerd && ownsProcess(containerd.pid, bedDir)) {
    await killContainers(node.containerdSocket);
    await stopProcess(containerd.pid);
  }
  await killShims(node.containerdSocket);
  for (const point of mountsUnder(node.dir)) await run('umount', ['-l', point]).catch(() => undefined);
  removeCgroups(node.cgroupRoot);
  await run('ip', ['link', 'del', node.bridge]).catch(() => undefined);
  if (node.kubeProxy) await cleanupKubeProxy(node.kubeProxy);
  await removeKubeletChains();
}

/** kube-proxy has written the rule for the `kubernetes` Service (10.0.0.1, control-plane.ts's range). */
async function serviceRuleExists(): Promise<boolean> {
  const { stdout } = await run('iptables', ['-w', '5', '-t', 'nat', '-S', 'KUBE-SERVICES']);
  return stdout.includes('10.0.0.1/32');
}

/**
 * The chains a kubelet makes in the host's iptables even with makeIPTablesUtilChains off: its canaries
 * (how it notices a flush) and the hint kube-proxy reads; and KUBE-FIREWALL in the filter table, with
 * the jumps to it from INPUT and OUTPUT, which the node leaves behind and `kube-proxy --cleanup` does not
 * remove. This machine runs no kubelet but the bed's.
 */
async function removeKubeletChains(): Promise<void> {
  const chains: [string, string][] = [
    ['mangle', 'KUBE-KUBELET-CANARY'], ['nat', 'KUBE-KUBELET-CANARY'], ['filter', 'KUBE-KUBELET-CANARY'],
    ['mangle', 'KUBE-IPTABLES-HINT'], ['nat', 'KUBE-IPTABLES-HINT'], ['filter', 'KUBE-FIREWALL'],
  ];
  for (const tool of ['iptables', 'ip6tables']) {
    for (const from of ['INPUT', 'OUTPUT']) {
      // One jump per start of a node at most, but a crashed bed's next start may have added another.
      for (let i = 0; i < 10; i++) if (!await run(tool, ['-w', '5', '-D', from, '-j', 'KUBE-FIREWALL']).then(() => true, () => false)) break;
    }
    for (const [table, chain] of chains) {
      await run(tool, ['-w', '5', '-t', table, '-F', chain]).catch(() => undefined);
      await run(tool, ['-w', '5', '-t', table, '-X', chain]).catch(() => undefined);
    }
  }
}

const ctr = (socket: string, ...args: string[]) =>
  run('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { timeout: 20_000 });

/** SIGKILL every container task and delete it, so no pod process outlives the bed. */
async function killContainers(socket: string): Promise<void> {
  const { stdout } = await ctr(socket, 'tasks', 'ls', '-q').catch(() => ({ stdout: '' }));
  const tasks = stdout.split('\n').filter(Boolean);
  for (const task of tasks) await ctr(socket, 'tasks', 'kill', '--signal', 'SIGKILL', task).catch(() => undefined);
  for (const task of tasks) await ctr(socket, 'tasks', 'delete', '--force', task).catch(() => undefined);
}

/** containerd-shim processes of this node's containerd that survived it (they outlive containerd by design). */
async function killShims(socket: string): Promise<void> {
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number)) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes('containerd-shim') && cmdline.includes(socket)) await stopProcess(pid, 2000);
  }
}

/** Makes the node's containerd trust `host` (host:port) with the CA in `caFile`: read at every pull. */
export function trustRegistry(node: NodeInfo, host: string, caFile: string): void {
  const dir = join(node.certsDir, host);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'hosts.toml'),
    `server = "https://${host}"\n[host."https://${host}"]\n  capabilities = ["pull", "resolve"]\n  ca = "${caFile}"\n`);
}
