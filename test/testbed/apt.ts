// Packages the testbed runs: the registry, skopeo and htpasswd from Debian, moto from PyPI. Installed
// when missing, so a fresh machine needs no manual step.
import { execFileSync } from 'node:child_process';

const packages: Record<string, string> = {
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  htpasswd: 'apache2-utils',
  openssl: 'openssl',
};

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** moto_server comes from PyPI; pinned to the version the suite was written against. */
export function ensureMoto(log: (line: string) => void = () => undefined): void {
  if (onPath('moto_server')) return;
  log('installing moto[server] from PyPI');
  execFileSync('python3', ['-m', 'pip', 'install', '--quiet', 'moto[server]==5.2.1'], { stdio: 'ignore' });
}

export function ensurePackages(commands: string[], log: (line: string) => void = () => undefined): void {
  const missing = commands.filter((c) => !onPath(c)).map((c) => packages[c] ?? c);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`testbed needs Debian packages ${missing.join(', ')}: install them with apt-get (needs root)`);
  }
  log(`installing Debian packages: ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'ignore', env });
}
