// Packages the testbed runs: the registry, skopeo, htpasswd and Prometheus (with promtool) from Debian,
// moto from PyPI. Installed when missing, so a fresh machine needs no manual step.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { withLock } from './binaries.ts';

const run = promisify(execFile);

const packages: Record<string, string> = {
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  htpasswd: 'apache2-utils',
  openssl: 'openssl',
  // The tests run their own Prometheus instances on free loopback ports (see prometheus.ts).
  prometheus: 'prometheus',
  promtool: 'prometheus',
  // The node (node.ts).
  containerd: 'containerd',
  ctr: 'containerd',
  runc: 'runc',
  ip: 'iproute2',
  iptables: 'iptables',
  buildah: 'buildah',
  busybox: 'busybox-static',
  '/usr/lib/cni/bridge': 'containernetworking-plugins',
  // The base image stand-ins (base-images.ts).
  debootstrap: 'debootstrap',
};

/** Every command above: a whole test run installs their packages in one apt run (global-setup.ts). */
export const TESTBED_COMMANDS: readonly string[] = Object.keys(packages);

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * moto_server comes from PyPI; pinned to the version the suite was written against. Locked, so the early
 * build `npm test` starts (scripts/test.ts) and a bed starting meanwhile do not both install it.
 */
export async function ensureMoto(log: (line: string) => void = () => undefined, signal?: AbortSignal): Promise<void> {
  if (onPath('moto_server')) return;
  await withLock('.lock-moto', async () => {
    if (onPath('moto_server')) return;
    log('installing moto[server] from PyPI');
    await run('python3', ['-m', 'pip', 'install', '--quiet', 'moto[server]==5.2.1'], { maxBuffer: 16 << 20, signal });
  }, signal);
}

export function ensurePackages(commands: string[], log: (line: string) => void = () => undefined): void {
  const missing = [...new Set(commands.filter((c) => !onPath(c)).map((c) => (Object.hasOwn(packages, c) ? packages[c] : undefined) ?? c))];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`testbed needs Debian packages ${missing.join(', ')}: install them with apt-get (needs root)`);
  }
  log(`installing Debian packages: ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'ignore', env });
  if (missing.includes('prometheus')) stopPackagedService('prometheus');
}

/**
 * Debian's postinst starts a packaged daemon where systemd runs (Prometheus on :9090, with its own data
 * directory). Without systemd, invoke-rc.d (and policy-rc.d in containers) already refuse; with it, the
 * service is stopped and disabled, so a test machine is not left running it.
 */
function stopPackagedService(unit: string): void {
  // sd_booted(3): systemd is the init system exactly when this directory exists.
  if (!existsSync('/run/systemd/system')) return;
  try {
    execFileSync('systemctl', ['disable', '--now', `${unit}.service`], { stdio: 'ignore' });
  } catch {
    /* the unit is not there or systemd refused: nothing was started either */
  }
}
