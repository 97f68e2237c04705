// The shipped Docker credential helper, run as a builder runs it: `get` with the server URL on stdin and
// the builder API's address, token file and CA in the environment.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const HELPER = join(import.meta.dirname, '../../scripts/docker-credential-pullsecret-sync');

export async function helperGet(env: NodeJS.ProcessEnv, serverURL: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = execFile('sh', [HELPER, 'get'], { env, timeout: 30_000 });
  child.stdin?.end(`${serverURL}\n`);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => { resolve(c ?? -1); }));
  return { code, stdout, stderr };
}
