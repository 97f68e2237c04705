// Certificates for the testbed, made with the openssl command line: one CA signs the API server's and
// the registry's serving certificates and the admin client certificate (O=system:masters).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KeyPair {
  cert: string;
  key: string;
}

export interface Pki {
  ca: KeyPair;
  apiserver: KeyPair;
  admin: KeyPair;
  registry: KeyPair;
  /** ServiceAccount token signing key pair (public key, private key). */
  serviceAccount: { pub: string; key: string };
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args);
}

async function makeCa(dir: string): Promise<KeyPair> {
  const pair = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', '/CN=pullsecret-sync-testbed-ca', '-keyout', pair.key, '-out', pair.cert]);
  return pair;
}

async function issue(dir: string, name: string, ca: KeyPair, subject: string, ext: string): Promise<KeyPair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject,
    '-keyout', pair.key, '-out', csr]);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '30',
    '-extfile', extFile, '-out', pair.cert]);
  return pair;
}

const serving = (extra = '') =>
  `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n` +
  `subjectAltName=IP:127.0.0.1,DNS:localhost${extra}\n`;

/** Serving certificate for a loopback server, signed by the testbed CA. */
export function issueServing(dir: string, name: string, ca: KeyPair, extraSans = ''): Promise<KeyPair> {
  return issue(dir, name, ca, `/CN=${name}`, serving(extraSans));
}

/**
 * The bed's certificates. `bridgeAddress` (network.ts) is where the node's pods reach the API server and
 * the registry, so both serving certificates name it too.
 */
export async function createPki(dir: string, bridgeAddress: string): Promise<Pki> {
  const ca = await makeCa(dir);
  const apiserver = await issueServing(dir, 'apiserver', ca,
    `,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1,IP:${bridgeAddress}`);
  const admin = await issue(dir, 'admin', ca, '/O=system:masters/CN=testbed-admin',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');
  const registry = await issueServing(dir, 'registry', ca, `,IP:${bridgeAddress}`);
  const serviceAccount = { pub: join(dir, 'sa.pub'), key: join(dir, 'sa.key') };
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', serviceAccount.key]);
  await openssl(['pkey', '-in', serviceAccount.key, '-pubout', '-out', serviceAccount.pub]);
  return { ca, apiserver, admin, registry, serviceAccount };
}
