// The Azure credential provider. Two hops: an Entra ID token (client secret from the
// Secret, else workload identity when a federated token file is configured, else managed identity),
// then `POST https://<registry>/oauth2/exchange` trades it for an ACR refresh token, which docker clients
// use as the password of the fixed user 00000000-0000-0000-0000-000000000000. The refresh token is a JWT;
// its `exp` is the expiry (about 3 h on ACR). The Entra token is shared by every registry of one Entra
// identity; the exchange runs per registry.
//
// The Entra token is ARM-scoped by default (ACR accepts those unless a registry is set to ACR-scoped
// tokens only; `scope` switches). Because the exchange hands that token to the registry host, only hosts
// under ACR's domains, or hosts the daemon's --outbound-hosts lists (util/outbound.ts), are ever contacted.
// Neither Entra nor the exchange is followed through a redirect: the POSTs carry a client secret or a token. Each Entra fetch builds a fresh credential,
// so a client-secret or workload-identity token comes from Entra itself. Managed identity tokens are the
// exception: MSAL caches them process-wide, whatever the credential, until 5 minutes before expiry (half
// their life when longer than 2 h); that is no older than what entraToken below would reuse.
import { rootCertificates } from 'node:tls';
// @azure/identity is imported on the first Azure token, not with this module: a daemon whose resources use
// no Azure never holds it (about 40 MB resident, BENCHMARKS.md "Module loading").
import type { TokenCredential } from '@azure/identity';
import { LRUCache } from 'lru-cache';
import { keyLengthProblem, loginEntry, normalizeRegistryKey, type AuthEntry } from '../dockerconfig/index.ts';
import { namedErrorMessage, scrub } from '../util/errors.ts';
import { BodyTooLarge, caFetch, readCapped, type FetchLike } from '../util/fetch.ts';
import { PUBLIC_ONLY, type OutboundPolicy } from '../util/outbound.ts';
import { sha256Hex } from '../util/hash.ts';
import { jwtClaims, jwtExpiryMs } from '../util/jwt.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { nonEmpty, obj, str } from '../util/openapi.ts';
import { entriesFor, type CredentialProvider, type FetchedCredentials, type SecretData } from './provider.ts';
import { secretReferenceIssues, secretReferenceSchema, type ProviderModule, type SecretReference } from './provider-module.ts';

/** A source of spec.registry.azure. */
export interface AzureSource {
  registry: string;
  tenantID?: string;
  clientID?: string;
  /** Client secret of a service principal; default key `clientSecret`. Else workload or managed identity. */
  credentialsSecret?: SecretReference;
}
import { isRecord, ownValue } from '../util/own.ts';
import { azureIdentity } from './sdks.ts';

export const ACR_USERNAME = '00000000-0000-0000-0000-000000000000';
export const ARM_SCOPE = 'https://management.azure.com/.default';
export const AZURE_DEFAULT_KEY = 'clientSecret';
/** Where an ACR exchange goes by default: ACR's public, China and US Gov registry hosts. */
export const ACR_HOSTS = ['*.azurecr.io', '*.azurecr.cn', '*.azurecr.us'];
/** An exchange answer is a refresh token of a few KiB; anything past this is not one, and is not read. */
const MAX_EXCHANGE_ANSWER_BYTES = 64 * 1024;
/** An Entra token with less than this left is fetched again rather than handed to an exchange. */
const ENTRA_REUSE_MARGIN_MS = 5 * 60 * 1000;
/** Used only when a refresh token carries no readable `exp`: short, so we come back early. */
const FALLBACK_LIFETIME_MS = 60 * 60 * 1000;

export type AzureCredentialInput =
  | { kind: 'clientSecret'; tenantID: string; clientID: string; clientSecret: string }
  | { kind: 'workloadIdentity'; tenantID?: string; clientID?: string; tokenFilePath: string }
  | { kind: 'managedIdentity'; clientID?: string };

export type AzureCredentialFactory = (input: AzureCredentialInput) => TokenCredential;


export interface AzureProviderOptions {
  credentialFactory?: AzureCredentialFactory;
  fetch?: FetchLike;
  /** Entra authority (sovereign clouds, Azure Stack, tests); disables MSAL's instance discovery. */
  authorityHost?: string;
  /** PEM of an extra CA to trust for Entra and the exchange (private endpoints, tests). */
  ca?: string;
  /** The projected token file of workload identity (AZURE_FEDERATED_TOKEN_FILE, read by main). */
  federatedTokenFile?: string;
  /** Which registry hosts beyond ACR_HOSTS may receive Entra tokens (docs/security.md); default none. */
  outbound?: OutboundPolicy;
  scope?: string;
  clock?: Clock;
}

type Options = Required<Pick<AzureProviderOptions, 'outbound' | 'scope' | 'clock' | 'credentialFactory' | 'fetch'>> & AzureProviderOptions;


/** The public roots plus `ca`: an extra CA adds trust, it does not replace the usual roots. */
const trusting = (ca: string): string[] => [...rootCertificates, ca];

/** The production factory over @azure/identity. */
export function defaultAzureCredentialFactory(opts: { authorityHost?: string; ca?: string } = {}): AzureCredentialFactory {
  const common = {
    // A redirect would re-send a client secret or a federated token to wherever the answer points.
    redirectOptions: { maxRetries: 0 },
    ...(opts.authorityHost ? { authorityHost: opts.authorityHost, disableInstanceDiscovery: true } : {}),
    ...(opts.ca ? { tlsOptions: { ca: trusting(opts.ca) } } : {}),
  };
  return (input) => deferredCredential(async () => {
    const { ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential } = await azureIdentity();
    switch (input.kind) {
      case 'clientSecret':
        return new ClientSecretCredential(input.tenantID, input.clientID, input.clientSecret, common);
      case 'workloadIdentity':
        return new WorkloadIdentityCredential({ ...common, tenantId: input.tenantID, clientId: input.clientID, tokenFilePath: input.tokenFilePath });
      case 'managedIdentity':
        return input.clientID ? new ManagedIdentityCredential({ ...common, clientId: input.clientID }) : new ManagedIdentityCredential(common);
    }
  });
}

/** A TokenCredential whose SDK credential is made (and imported) on its first getToken, then reused. */
function deferredCredential(make: () => Promise<TokenCredential>): TokenCredential {
  let made: Promise<TokenCredential> | undefined;
  return { getToken: async (scopes, options) => (await (made ??= make())).getToken(scopes, options) };
}

export class AzureProvider implements CredentialProvider<AzureSource> {
  readonly kind = 'Azure' as const;
  private readonly opts: Options;
  /** Entra tokens by Entra identity (no registry): one token serves every registry of the identity. */
  private readonly entra = new LRUCache<string, { token: string; expiresAtMs: number }>({ max: 1000 });
  private readonly entraInflight = new Map<string, Promise<string>>();

  constructor(options: AzureProviderOptions = {}) {
    this.opts = {
      ...options,
      outbound: options.outbound ?? PUBLIC_ONLY,
      scope: options.scope ?? ARM_SCOPE,
      clock: options.clock ?? realClock,
      credentialFactory: options.credentialFactory ?? defaultAzureCredentialFactory(options),
      fetch: options.fetch ?? (options.ca ? caFetch(options.ca) : (url, init) => globalThis.fetch(url, { ...init, redirect: 'manual' })),
    };
  }

  validate(source: AzureSource): string[] {
    const problems: string[] = [];
    const key = normalizeRegistryKey(source.registry);
    if (!key || key.includes('/')) problems.push(`azure: "${source.registry}" is not a registry host`);
    else {
      const refused = this.opts.outbound.hostProblem('registry', key, ACR_HOSTS);
      if (refused) problems.push(`azure: ${refused}; Entra tokens go to ACR hosts only`);
    }
    if (source.tenantID !== undefined && !/^[0-9a-zA-Z.-]+$/.test(source.tenantID)) problems.push('azure: tenantID is not a tenant ID or domain');
    const ref = source.credentialsSecret;
    if (ref) {
      if (!ref.name || !ref.namespace) problems.push('azure: credentialsSecret needs name and namespace');
      if (ref.key === '') problems.push('azure: credentialsSecret.key must not be empty');
      if (!source.tenantID || !source.clientID) problems.push('azure: a client secret needs tenantID and clientID');
    }
    return problems;
  }

  /**
   * The registry is part of the identity: the ACR exchange gives one refresh token per registry. The
   * Entra token before it depends on the rest alone and is shared across registries (entraToken).
   */
  identity(source: AzureSource, secret: SecretData | undefined): string {
    return `azure|${normalizeRegistryKey(source.registry) ?? source.registry}|${this.entraIdentity(source, secret)}`;
  }

  retarget(source: AzureSource, fetched: FetchedCredentials): AuthEntry[] {
    return entriesFor([normalizeRegistryKey(source.registry) ?? source.registry], fetched);
  }

  private entraIdentity(source: AzureSource, secret: SecretData | undefined): string {
    const parts = [`tenant:${source.tenantID ?? ''}`, `client:${source.clientID ?? ''}`];
    const ref = source.credentialsSecret;
    if (ref) {
      const value = ownValue(secret, ref.key ?? AZURE_DEFAULT_KEY);
      parts.push(`secret:${value === undefined ? 'missing' : sha256Hex(value)}`);
    } else {
      parts.push(this.opts.federatedTokenFile ? 'workload' : 'managed');
    }
    return parts.join('|');
  }

  async fetch(source: AzureSource, secret: SecretData | undefined, signal?: AbortSignal): Promise<FetchedCredentials> {
    const problems = this.validate(source);
    if (problems.length > 0) throw new Error(problems.join('; '));
    const host = normalizeRegistryKey(source.registry) ?? source.registry;
    const input = this.credentialInput(source, secret);
    const clientSecret = input.kind === 'clientSecret' ? input.clientSecret : undefined;
    let entraToken: string;
    try {
      entraToken = await this.entraToken(this.entraIdentity(source, secret), input, signal);
    } catch (err) {
      // No `cause`: identity errors carry request details that a logged cause would leak.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`Entra token (${input.kind}) for ${host} failed: ${scrub(namedErrorMessage(err), [clientSecret])}`);
    }
    const tenant = source.tenantID ?? stringClaim(jwtClaims(entraToken), 'tid');
    const refreshToken = await this.exchange(host, entraToken, tenant, signal);
    const expiresAt = new Date(jwtExpiryMs(refreshToken) ?? this.opts.clock.nowMs() + FALLBACK_LIFETIME_MS);
    return { entries: [loginEntry(host, ACR_USERNAME, refreshToken)], expiresAt };
  }

  /**
   * An Entra token for `input`, shared by every registry of one Entra identity: reused while it has more
   * than ENTRA_REUSE_MARGIN_MS left, fetched once for concurrent callers.
   */
  private entraToken(identity: string, input: AzureCredentialInput, signal: AbortSignal | undefined): Promise<string> {
    const cached = this.entra.get(identity);
    if (cached && cached.expiresAtMs - this.opts.clock.nowMs() > ENTRA_REUSE_MARGIN_MS) return Promise.resolve(cached.token);
    const pending = this.entraInflight.get(identity);
    if (pending) return pending;
    const fetching = (async () => {
      const token = await this.opts.credentialFactory(input).getToken(this.opts.scope, signal ? { abortSignal: signal } : {});
      if (!token?.token) throw new Error('no token in the response');
      this.entra.set(identity, { token: token.token, expiresAtMs: token.expiresOnTimestamp });
      return token.token;
    })().finally(() => this.entraInflight.delete(identity));
    this.entraInflight.set(identity, fetching);
    return fetching;
  }

  private credentialInput(source: AzureSource, secret: SecretData | undefined): AzureCredentialInput {
    const ref = source.credentialsSecret;
    if (ref) {
      const key = ref.key ?? AZURE_DEFAULT_KEY;
      const clientSecret = ownValue(secret, key);
      // A missing Secret never falls back to the daemon's own identity.
      if (!clientSecret) throw new Error(`Secret ${ref.namespace}/${ref.name} has no key ${key}`);
      return { kind: 'clientSecret', tenantID: source.tenantID ?? '', clientID: source.clientID ?? '', clientSecret };
    }
    const ids = { ...(source.tenantID ? { tenantID: source.tenantID } : {}), ...(source.clientID ? { clientID: source.clientID } : {}) };
    if (this.opts.federatedTokenFile) return { kind: 'workloadIdentity', ...ids, tokenFilePath: this.opts.federatedTokenFile };
    return { kind: 'managedIdentity', ...(source.clientID ? { clientID: source.clientID } : {}) };
  }

  private async exchange(host: string, accessToken: string, tenant: string | undefined, signal?: AbortSignal): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'access_token', service: host, ...(tenant ? { tenant } : {}), access_token: accessToken });
    let status: number;
    let text: string;
    try {
      const res = await this.opts.fetch(`https://${host}/oauth2/exchange`, {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(), ...(signal ? { signal } : {}),
      });
      status = res.status;
      text = (await readCapped(res, MAX_EXCHANGE_ANSWER_BYTES, 'ACR token exchange answer')).toString('utf8');
    } catch (err) {
      if (err instanceof BodyTooLarge) throw new Error(`ACR token exchange at ${host} failed: ${err.message}`, { cause: err });
      const code = (err as { code?: unknown }).code;
      // eslint-disable-next-line preserve-caught-error -- the cause could quote the request body
      throw new Error(`ACR token exchange at ${host} failed: ${typeof code === 'string' ? code : 'request failed'}`);
    }
    if (status !== 200) throw new Error(`ACR token exchange at ${host} failed: HTTP ${status}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const refreshToken = isRecord(body) ? body.refresh_token : undefined;
    if (typeof refreshToken !== 'string' || refreshToken === '') throw new Error(`ACR token exchange at ${host} returned no refresh_token`);
    return refreshToken;
  }
}

function stringClaim(claims: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = claims?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The Azure provider's module (credentials/registry.ts). */
export const azure: ProviderModule<'Azure', 'azure', AzureSource> = {
  kind: 'Azure',
  field: 'azure',
  schema: obj({
    registry: nonEmpty(),
    tenantID: str(),
    clientID: str(),
    credentialsSecret: secretReferenceSchema('Client secret (default key clientSecret); else workload or managed identity.', true),
  }, ['registry']),
  defaultSecretKey: AZURE_DEFAULT_KEY,
  validateSpec: (source, at) => {
    const tooLong = keyLengthProblem(source.registry); // a key of every Secret written
    return [...(tooLong ? [{ path: `${at}.registry`, message: tooLong }] : []),
      ...secretReferenceIssues(source.credentialsSecret, `${at}.credentialsSecret`)];
  },
  secretRef: (source) => source.credentialsSecret,
  reference: (source) => `Azure ${source.registry}`,
  registries: (source) => [normalizeRegistryKey(source.registry) ?? source.registry],
  create: (settings) => new AzureProvider({
    ...(settings.azureFederatedTokenFile ? { federatedTokenFile: settings.azureFederatedTokenFile } : {}), ...(settings.outbound ? { outbound: settings.outbound } : {}),
  }),
};
