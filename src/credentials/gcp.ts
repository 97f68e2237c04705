// The GCP credential provider: an OAuth2 access token with the cloud-platform scope,
// written as `oauth2accesstoken` / token for every Artifact Registry or GCR host of the source. With a
// Secret, its JSON is a `service_account` key or an `external_account` (workload identity federation)
// config; without one, the daemon's Application Default Credentials (GKE workload identity / the GCE
// metadata server). The auth client comes from an injected factory, so tests point it at local servers.
//
// Each fetch builds a fresh auth client: google-auth-library clients cache their token until it is
// nearly expired, and the token cache above us asks for a new token at half-life, not at expiry.
// google-auth-library is imported by the factory, on the first GCP token: a daemon whose resources use no
// GCP never holds it (BENCHMARKS.md "Module loading").
import { realpath } from 'node:fs/promises';
import type { gaxios } from 'google-auth-library';
import { keyLengthProblem, loginEntry, normalizeRegistryKey, type AuthEntry } from '../dockerconfig/index.ts';
import { abortable } from '../util/deadline.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { sha256Hex } from '../util/hash.ts';
import * as openapi from '../util/openapi.ts';
import { entriesFor, type CredentialProvider, type FetchedCredentials, type SecretData } from './provider.ts';
import { secretReferenceIssues, secretReferenceSchema, type ProviderModule, type SecretReference, type SourceIssue } from './provider-module.ts';
import { isRecord, ownValue } from '../util/own.ts';
import { googleAuth } from './sdks.ts';
import { PUBLIC_ONLY, type OutboundPolicy } from '../util/outbound.ts';
import { GOOGLE_UNIVERSE, parseGcpCredentials, type GcpCredentialsJson } from './gcp-config.ts';

export { GOOGLE_UNIVERSE, parseGcpCredentials, type GcpCredentialsJson } from './gcp-config.ts';

/** A source of spec.registry.gcp. */
export interface GcpSource {
  registries: string[];
  /** service_account or external_account JSON; default key `credentials.json`. Else the daemon's ADC. */
  credentialsSecret?: SecretReference;
}

export const GCP_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
export const GCP_USERNAME = 'oauth2accesstoken';
export const GCP_DEFAULT_KEY = 'credentials.json';
/** Where google-auth-library sends the JWT-bearer grant of a service-account key. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const DEFAULT_LIFETIME_MS = 60 * 60 * 1000;
const ABORTED = 'GCP token request aborted';

/** What the provider needs of an auth client: a token, and after that call the token's expiry. */
export interface GcpAuthClient {
  getAccessToken(): Promise<{ token?: string | null }>;
  readonly credentials: { expiry_date?: number | null };
}

/** Builds an auth client for `json`, or for the daemon's ADC when `json` is undefined. */
export type GcpAuthFactory = (json: GcpCredentialsJson | undefined) => GcpAuthClient | Promise<GcpAuthClient>;

export interface GcpProviderOptions {
  authFactory?: GcpAuthFactory;
  clock?: Clock;
  /**
   * The universe whose endpoints a credentials JSON may name (the daemon's GOOGLE_CLOUD_UNIVERSE_DOMAIN);
   * default googleapis.com. A JSON's own `universe_domain` (default googleapis.com) must be the same.
   */
  universeDomain?: string;
  /** Which hosts and files a JSON may name beyond Google's endpoints (docs/security.md); default none. */
  outbound?: OutboundPolicy;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * google-auth-library 11 signs the service-account grant for, and posts it to, the fixed Google token
 * URL and ignores the key's `token_uri`; other Google clients honour it. Redirect the request there.
 */
function tokenUriTransporter(Gaxios: typeof gaxios.Gaxios, tokenUri: string | undefined): InstanceType<typeof gaxios.Gaxios> | undefined {
  if (tokenUri === undefined || tokenUri === GOOGLE_TOKEN_URL) return undefined;
  const transporter = new Gaxios();
  transporter.interceptors.request.add({
    resolved: (opts) => {
      if (opts.url.href === GOOGLE_TOKEN_URL) opts.url = new URL(tokenUri);
      return Promise.resolve(opts);
    },
  });
  return transporter;
}

/** The production factory: JWT for keys, external-account clients for federation, ADC otherwise. */
export const defaultGcpAuthFactory: GcpAuthFactory = async (json) => {
  const { AwsClient, GoogleAuth, IdentityPoolClient, JWT, gaxios } = await googleAuth();
  const scopes = [GCP_SCOPE];
  if (json === undefined) return new GoogleAuth({ scopes }).getClient();
  if (json.type === 'service_account') {
    return new JWT({
      email: str(json.client_email), key: str(json.private_key), keyId: str(json.private_key_id), scopes,
      transporter: tokenUriTransporter(gaxios.Gaxios, str(json.token_uri)),
    });
  }
  // Built directly rather than through fromJSON, which warns on every call that it does not validate
  // the config: parseGcpCredentials has done that.
  const options = { ...json, scopes } as ConstructorParameters<typeof IdentityPoolClient>[0];
  const source = json.credential_source as Record<string, unknown>;
  return str(source.environment_id)?.startsWith('aws')
    ? new AwsClient(options as ConstructorParameters<typeof AwsClient>[0])
    : new IdentityPoolClient(options);
};

/** A message about a failed token request that names status and OAuth error code, never bodies. */
function failure(err: unknown): string {
  const e = err as { status?: unknown; code?: unknown; message?: unknown; response?: { status?: unknown; data?: unknown } };
  const status = e.response?.status ?? e.status;
  const data = e.response?.data;
  const oauthError = isRecord(data) && typeof data.error === 'string' && /^[\w.-]{1,64}$/.test(data.error) ? data.error : undefined;
  if (typeof status === 'number') return `HTTP ${status}${oauthError ? ` ${oauthError}` : ''}`;
  if (typeof e.code === 'string' && /^[A-Z_]{2,32}$/.test(e.code)) return e.code;
  if (typeof e.message === 'string' && e.message.startsWith('Could not load the default credentials')) {
    return 'no Application Default Credentials (no GOOGLE_APPLICATION_CREDENTIALS, gcloud config or metadata server)';
  }
  return 'request failed';
}

export class GcpProvider implements CredentialProvider<GcpSource> {
  readonly kind = 'GCP' as const;
  private readonly authFactory: GcpAuthFactory;
  private readonly clock: Clock;
  private readonly universe: string;
  private readonly outbound: OutboundPolicy;

  constructor(options: GcpProviderOptions = {}) {
    this.authFactory = options.authFactory ?? defaultGcpAuthFactory;
    this.clock = options.clock ?? realClock;
    this.universe = options.universeDomain ?? GOOGLE_UNIVERSE;
    this.outbound = options.outbound ?? PUBLIC_ONLY;
  }

  validate(source: GcpSource): string[] {
    const problems: string[] = [];
    if (source.registries.length === 0) problems.push('gcp: registries must name at least one registry');
    for (const registry of source.registries) {
      if (!normalizeRegistryKey(registry)) problems.push(`gcp: "${registry}" names no registry`);
    }
    const ref = source.credentialsSecret;
    if (ref && (!ref.name || !ref.namespace)) problems.push('gcp: credentialsSecret needs name and namespace');
    if (ref?.key === '') problems.push('gcp: credentialsSecret.key must not be empty');
    return problems;
  }

  /** An access token depends on the account alone, never on the registries it is written for. */
  identity(source: GcpSource, secret: SecretData | undefined): string {
    if (!source.credentialsSecret) return 'gcp|adc';
    const raw = ownValue(secret, source.credentialsSecret.key ?? GCP_DEFAULT_KEY);
    return `gcp|key:${raw === undefined ? 'missing' : sha256Hex(raw)}`;
  }

  retarget(source: GcpSource, fetched: FetchedCredentials): AuthEntry[] {
    return entriesFor(registryKeys(source), fetched);
  }

  async fetch(source: GcpSource, secret: SecretData | undefined, signal?: AbortSignal): Promise<FetchedCredentials> {
    const json = await this.credentialsOf(source, secret);
    const who = json ? describeAccount(json) : 'Application Default Credentials';
    let client: GcpAuthClient;
    let token: string | undefined;
    try {
      client = await abortable(Promise.resolve(this.authFactory(json)), signal, ABORTED);
      token = (await abortable(client.getAccessToken(), signal, ABORTED)).token ?? undefined;
    } catch (err) {
      // No `cause`: library errors carry request and response details that a logged cause would leak.
      // eslint-disable-next-line preserve-caught-error
      if (signal?.aborted) throw new Error(ABORTED);
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`GCP access token for ${who} failed: ${failure(err)}`);
    }
    if (!token) throw new Error(`GCP access token for ${who} failed: no token in the response`);
    const expiry = client.credentials.expiry_date;
    const expiresAt = new Date(typeof expiry === 'number' && expiry > 0 ? expiry : this.clock.nowMs() + DEFAULT_LIFETIME_MS);
    return { entries: entriesFor(registryKeys(source), { entries: [loginEntry('', GCP_USERNAME, token)], expiresAt }), expiresAt };
  }

  private async credentialsOf(source: GcpSource, secret: SecretData | undefined): Promise<GcpCredentialsJson | undefined> {
    const ref = source.credentialsSecret;
    if (!ref) return undefined;
    const key = ref.key ?? GCP_DEFAULT_KEY;
    const raw = ownValue(secret, key);
    // A missing Secret never falls back to the daemon's own identity.
    if (raw === undefined) throw new Error(`Secret ${ref.namespace}/${ref.name} has no key ${key}`);
    try {
      const json = parseGcpCredentials(raw, this.universe, this.outbound);
      await this.checkRealFile(json);
      return json;
    } catch (err) {
      // eslint-disable-next-line preserve-caught-error -- our own message; a cause would add nothing
      throw new Error(`Secret ${ref.namespace}/${ref.name} key ${key}: ${(err as Error).message}`);
    }
  }

  /** A credential_source.file allowed by name must be allowed once its symbolic links are resolved too. */
  private async checkRealFile(json: GcpCredentialsJson): Promise<void> {
    const source = json.credential_source;
    const file = isRecord(source) ? source.file : undefined;
    if (typeof file !== 'string') return;
    let real: string;
    try {
      real = await realpath(file);
    } catch {
      throw new Error('credential_source.file cannot be read');
    }
    const problem = this.outbound.fileProblem('credential_source.file', real);
    if (problem) throw new Error(problem);
  }
}

function registryKeys(source: GcpSource): string[] {
  const keys = source.registries.map((r) => normalizeRegistryKey(r)).filter((k): k is string => k !== undefined);
  return [...new Set(keys)].sort();
}

function describeAccount(json: GcpCredentialsJson): string {
  if (json.type === 'service_account') return `service account ${str(json.client_email) ?? '(unknown)'}`;
  return 'external account';
}

function gcpSpecIssues(source: GcpSource, at: string): SourceIssue[] {
  const out: SourceIssue[] = source.registries.length === 0 ? [{ path: `${at}.registries`, message: 'names no registry' }] : [];
  source.registries.forEach((key, i) => {
    const tooLong = keyLengthProblem(key); // each becomes a key of every Secret written
    if (tooLong) out.push({ path: `${at}.registries[${String(i)}]`, message: tooLong });
  });
  return [...out, ...secretReferenceIssues(source.credentialsSecret, `${at}.credentialsSecret`)];
}

/** The GCP provider's module (credentials/registry.ts). */
export const gcp: ProviderModule<'GCP', 'gcp', GcpSource> = {
  kind: 'GCP',
  field: 'gcp',
  schema: openapi.obj({
    registries: openapi.list(openapi.nonEmpty(), { minItems: 1 }),
    credentialsSecret: secretReferenceSchema('service_account or external_account JSON (default key credentials.json); else ADC.', true),
  }, ['registries']),
  defaultSecretKey: GCP_DEFAULT_KEY,
  validateSpec: gcpSpecIssues,
  secretRef: (source) => source.credentialsSecret,
  reference: (source) => `GCP ${source.registries.join(',')}`,
  registries: (source) => source.registries.map((r) => normalizeRegistryKey(r) ?? r),
  create: (settings) => new GcpProvider({
    ...(settings.gcpUniverseDomain ? { universeDomain: settings.gcpUniverseDomain } : {}), ...(settings.outbound ? { outbound: settings.outbound } : {}),
  }),
};
