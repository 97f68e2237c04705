// skopeo as the real registry client of the tests: it pushes images and pulls with an auth file taken
// from a Secret the daemon wrote.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { scratchDir } from './scratch.ts';

const run = promisify(execFile);

export interface SkopeoResult {
  ok: boolean;
  stderr: string;
}

async function skopeo(args: string[]): Promise<SkopeoResult> {
  try {
    await run('skopeo', args, { timeout: 60_000 });
    return { ok: true, stderr: '' };
  } catch (err) {
    return { ok: false, stderr: String((err as { stderr?: string }).stderr ?? err) };
  }
}

/** Writes a containers auth file (the dockerconfigjson format) to a fresh temporary path. */
export function authFile(dockerconfigjson: string): string {
  const file = join(scratchDir('auth'), 'auth.json');
  writeFileSync(file, dockerconfigjson, { mode: 0o600 });
  return file;
}

export function push(source: string, destination: string, certDir: string, creds?: string): Promise<SkopeoResult> {
  return skopeo(['copy', '--insecure-policy', `--dest-cert-dir=${certDir}`, ...(creds ? [`--dest-creds=${creds}`] : ['--dest-no-creds']),
    source, `docker://${destination}`]);
}

/** `skopeo inspect` with the given auth file: what a kubelet pull with that Secret would prove. */
export function inspect(image: string, certDir: string, authfile?: string): Promise<SkopeoResult> {
  return skopeo(['inspect', '--raw', `--cert-dir=${certDir}`, ...(authfile ? [`--authfile=${authfile}`] : ['--no-creds']), `docker://${image}`]);
}

/** A push that authenticates with a registry (bearer) token only, as `--dest-registry-token` sends it. */
export function pushWithRegistryToken(source: string, destination: string, certDir: string, token: string): Promise<SkopeoResult> {
  return skopeo(['copy', '--insecure-policy', `--dest-cert-dir=${certDir}`, `--dest-registry-token=${token}`, source, `docker://${destination}`]);
}
