// How the node's pods reach Services and the host, the way they do in a real cluster: kube-proxy in
// iptables mode turns the `kubernetes` Service (and every other ClusterIP Service) into NAT rules, and a
// forwarder on the bed's bridge address stands in for an API server and registry that listen on
// loopback only, so nothing of the bed is reachable from outside the machine.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BedNetwork } from './network.ts';
import { freePort, startProcess, waitFor, type Started } from './processes.ts';

const run = promisify(execFile);

/** Listens on `address:port` and forwards each connection to `127.0.0.1:port`; TLS passes through untouched. */
export async function startForwarder(name: string, dir: string, address: string, port: number): Promise<Started> {
  const log = join(dir, `${name}.log`);
  // socat's -lf names a file under the bed, which is also how ownsProcess recognises the process as ours.
  const proc = startProcess(name, 'socat', ['-lf', log, `TCP-LISTEN:${port},bind=${address},fork,reuseaddr`, `TCP:127.0.0.1:${port}`], log);
  await waitFor(name, async () => (await run('ss', ['-Htln', `src ${address}:${port}`])).stdout.trim() !== '', 10_000, proc);
  return proc;
}

/** The command lines of running kube-proxy processes. */
function kubeProxies(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('/kube-proxy')) found.push(argv.join(' '));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

const otherKubeProxy = (bedDir: string): string | undefined => kubeProxies().find((cmdline) => !cmdline.includes(bedDir));

function busy(other: string): Error {
  return new Error(`another testbed's node runs kube-proxy (${other}); its NAT rules are the machine's, so only one bed ` +
    'with a node can run at a time: stop that bed (`npm run testbed -- down` in its directory) and try again');
}

/**
 * kube-proxy's NAT chains (KUBE-SERVICES and the rest) are the host's, one set per machine, so a second
 * bed's kube-proxy would overwrite the first's rules. A node waits, up to `timeoutMs`, for another bed's
 * node to go (a benchmark's or another test run's), then gives up with a message saying which bed to stop.
 */
export async function awaitNodeSlot(bedDir: string, log: (line: string) => void, timeoutMs = 10 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let told = 0;
  for (let other = otherKubeProxy(bedDir); other; other = otherKubeProxy(bedDir)) {
    if (Date.now() > deadline) throw busy(other);
    if (Date.now() - told > 60_000) {
      log(`waiting for another testbed's node to stop (its kube-proxy: ${other})`);
      told = Date.now();
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Starts kube-proxy for the node (after awaitNodeSlot: refuses if another bed's started meanwhile). */
export async function startKubeProxy(opts: { dir: string; bedDir: string; binary: string; kubeconfig: string; node: string; net: BedNetwork }): Promise<Started> {
  const other = otherKubeProxy(opts.bedDir);
  if (other) throw busy(other);
  const config = join(opts.dir, 'kube-proxy.yaml');
  writeFileSync(config, [
    'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
    'kind: KubeProxyConfiguration',
    `clientConnection: {kubeconfig: ${opts.kubeconfig}}`,
    `hostnameOverride: ${opts.node}`,
    'mode: iptables',
    `clusterCIDR: ${opts.net.subnet}`,
    // Pods reach Services backed by pods on the same bridge; without br_netfilter the reply would skip
    // the host's NAT, so every Service connection is masqueraded instead.
    'iptables: {masqueradeAll: true, minSyncPeriod: 0s}',
    // NodePorts only on the bed's bridge, never on the host's other interfaces or loopback.
    `nodePortAddresses: [${opts.net.subnet}]`,
    // Leave the host's conntrack sysctls alone.
    'conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}',
    `metricsBindAddress: 127.0.0.1:${await freePort()}`,
    'healthzBindAddress: ""',
    '',
  ].join('\n'));
  return startProcess('kube-proxy', opts.binary, [`--config=${config}`, '--v=1'], join(opts.dir, 'kube-proxy.log'));
}

/** Removes every rule and chain kube-proxy made (it knows its own), after it has stopped. */
export async function cleanupKubeProxy(binary: string): Promise<void> {
  await run(binary, ['--cleanup'], { timeout: 30_000 }).catch(() => undefined);
}
