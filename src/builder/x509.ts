// X.509 issuance for the builder front's generated certificates (used when no certificate is mounted:
// development, tests, a single replica). Built with @peculiar/x509 over WebCrypto: ECDSA P-256 keys and
// the extensions TLS clients check (basicConstraints, keyUsage, extendedKeyUsage, subjectAltName, key
// identifiers). The library needs the reflect-metadata polyfill, so both are loaded on first use rather
// than at import: a daemon serving a mounted certificate never loads either. See
// docs/adr/ for why generated certificates are only the fallback.
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

type KeyPair = webcrypto.CryptoKeyPair;
const { subtle } = webcrypto;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface Issued {
  certPem: string;
  keyPem: string;
  /** The key pair, to sign further certificates with this one. */
  keys: KeyPair;
}

export interface IssueOptions {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  /** DNS names and IP addresses for subjectAltName (serving certificates). */
  hosts?: string[];
  /** The signing CA; absent for a self-signed certificate. */
  issuer?: { certPem: string; keys: KeyPair };
}

type X509 = typeof import('@peculiar/x509');
let loaded: Promise<X509> | undefined;

function library(): Promise<X509> {
  loaded ??= import('reflect-metadata').then(() => import('@peculiar/x509'));
  return loaded;
}

function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // a positive INTEGER
  return Buffer.from(bytes).toString('hex');
}

function pemOfKey(der: ArrayBuffer): string {
  const body = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

/** A certificate (self-signed or signed by `issuer`) with a fresh P-256 key. */
export async function issueCertificate(opts: IssueOptions): Promise<Issued> {
  const x509 = await library();
  const keys: KeyPair = await subtle.generateKey(ALG, true, ['sign', 'verify']);
  // KeyUsageFlags is a bit-flag enum: a combination is a number the enum type does not name.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
  const usage = (opts.isCA
    ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
    : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment) as import('@peculiar/x509').KeyUsageFlags;
  const extensions: import('@peculiar/x509').Extension[] = [
    new x509.BasicConstraintsExtension(opts.isCA, undefined, true),
    new x509.KeyUsagesExtension(usage, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (!opts.isCA) extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]));
  if (opts.hosts?.length) {
    extensions.push(new x509.SubjectAlternativeNameExtension(opts.hosts.map((h) => ({ type: isIP(h) ? 'ip' as const : 'dns' as const, value: h }))));
  }
  const common = { serialNumber: serialNumber(), notBefore: opts.notBefore, notAfter: opts.notAfter, signingAlgorithm: ALG };
  let cert;
  if (opts.issuer) {
    const issuerCert = new x509.X509Certificate(opts.issuer.certPem);
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerCert));
    cert = await x509.X509CertificateGenerator.create({ ...common, subject: `CN=${opts.commonName}`, issuer: issuerCert.subject,
      publicKey: keys.publicKey, signingKey: opts.issuer.keys.privateKey, extensions });
  } else {
    cert = await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: `CN=${opts.commonName}`, keys, extensions });
  }
  return { certPem: `${cert.toString('pem')}\n`, keyPem: pemOfKey(await subtle.exportKey('pkcs8', keys.privateKey)), keys };
}
