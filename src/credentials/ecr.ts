// The AWS ECR credential provider: one GetAuthorizationToken call per fetch, whose token serves every
// registry (account) the principal may pull from, so it emits one entry per listed account. The AWS
// identity is static keys from the referenced Secret, else the daemon's own (env, IRSA web identity, EKS
// Pod Identity, instance role, via the SDK's node provider chain), optionally followed by an STS
// AssumeRole. SDK clients and credential providers come from injected factories;
// the SDK's own endpoint settings (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS) keep working, which is how
// tests aim it at moto. Errors name the region and the failure, never keys or tokens.
// The AWS SDK is imported when the first ECR token is fetched, not with this module: a daemon whose
// resources use no ECR never holds it (about 30 MB resident, BENCHMARKS.md "Module loading").
import type { ECRClient, ECRClientConfig, GetAuthorizationTokenCommandOutput } from '@aws-sdk/client-ecr';
import { decodeAuth, normalizeRegistryKey, type AuthEntry } from '../dockerconfig/index.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { namedErrorMessage, scrub } from '../util/errors.ts';
import { PUBLIC_ONLY, type OutboundPolicy } from '../util/outbound.ts';
import { sha256Hex } from '../util/hash.ts';
import { list, nonEmpty, obj, str } from '../util/openapi.ts';
import { secretReferenceIssues, secretReferenceSchema, type ProviderModule, type SecretReference, type SourceIssue } from './provider-module.ts';
import { entriesFor, type CredentialProvider, type FetchedCredentials, type SecretData } from './provider.ts';
import { awsCredentialProviders, ecrSdk } from './sdks.ts';

/** A source of spec.registry.ecr. */
export interface EcrSource {
  region: string;
  /** Registry hosts to emit, one per account; default: the caller's own account. */
  accountIDs?: string[];
  roleARN?: string;
  /** Secret with accessKeyID / secretKey (and optional sessionToken); else the daemon's own identity. */
  credentialsSecret?: SecretReference;
  /** Host form: standard, FIPS, dual-stack. China partition follows from the region. */
  endpointType?: 'standard' | 'fips' | 'dualstack';
  /** Override of the ECR API endpoint (private endpoints, tests). */
  endpoint?: string;
}

/** IMPS's Secret type for ECR login configs, and ours; both hold the same keys. */
export const IMPS_ECR_SECRET_TYPE = 'banzaicloud.io/aws-ecr-login-config';
export const ECR_SECRET_TYPE = 'pullsecret-sync.dev/aws-ecr-login-config';

/** The session name of every AssumeRole, so CloudTrail shows who assumed the role. */
export const ROLE_SESSION_NAME = 'pullsecret-sync';
/** ECR tokens live 12 hours; used only when a response carries no expiry. */
const DEFAULT_TOKEN_LIFETIME_MS = 12 * 3600_000;

export type AwsCredentials = NonNullable<ECRClientConfig['credentials']>;

export interface StaticKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The part of the SDK's ECR client the daemon uses: any command, and a way to let go of its connections. */
export type EcrApi = Pick<ECRClient, 'send'> & { destroy?(): void };

/** What an ECR client is made from: the region, the API endpoint when not ECR's own, and whose identity. */
export interface EcrClientConfig {
  region: string;
  endpoint?: string;
  credentials?: AwsCredentials;
}

/** The one way every ECR client is made (token fetches, scoped tokens, repository creation); tests inject fakes. */
export type EcrClientFactory = (config: EcrClientConfig) => EcrApi;
export type AwsCredentialsFactory = (input: { region: string; roleARN?: string; staticKeys?: StaticKeys }) => AwsCredentials;

export interface EcrProviderOptions {
  ecrClient?: EcrClientFactory;
  credentials?: AwsCredentialsFactory;
  /** Only for responses without an expiry. */
  clock?: Clock;
  /** Which hosts an `endpoint` may name beyond ECR's own (docs/security.md); default none. */
  outbound?: OutboundPolicy;
}

/** The SDK's client, made (and the SDK imported) on the first command. */
export const defaultEcrClient: EcrClientFactory = (config) => {
  let client: ECRClient | undefined;
  const send = async (command: Parameters<ECRClient['send']>[0], options?: { abortSignal?: AbortSignal }): Promise<unknown> => {
    const { ECRClient } = await ecrSdk();
    client ??= new ECRClient(config);
    return client.send(command, options);
  };
  return { send: send as ECRClient['send'], destroy: () => { client?.destroy(); } };
};

type AwsCredentialsProvider = Extract<AwsCredentials, (...args: never[]) => unknown>;

/** A credentials provider whose SDK part is made (and imported) on its first call, then reused. */
function deferred(make: () => Promise<AwsCredentialsProvider>): AwsCredentialsProvider {
  let made: Promise<AwsCredentialsProvider> | undefined;
  return async (props) => (await (made ??= make()))(props);
}

/**
 * Static keys when given; else the daemon's own identity through the SDK's node provider chain, created
 * once per factory so its memoised credentials survive between fetches. With a role, an STS AssumeRole
 * on top, in the source's region.
 */
export function defaultAwsCredentials(): AwsCredentialsFactory {
  let ambient: AwsCredentials | undefined;
  return ({ region, roleARN, staticKeys }) => {
    const base = staticKeys ?? (ambient ??= deferred(async () => (await awsCredentialProviders()).fromNodeProviderChain()));
    if (!roleARN) return base;
    return deferred(async () => (await awsCredentialProviders()).fromTemporaryCredentials({
      params: { RoleArn: roleARN, RoleSessionName: ROLE_SESSION_NAME },
      masterCredentials: base,
      clientConfig: { region },
    }));
  };
}

const ACCOUNT_RE = /^\d{12}$/;
const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/;
const ENDPOINT_TYPES = new Set(['standard', 'fips', 'dualstack']);

const isChina = (region: string): boolean => region.startsWith('cn-');

/** The registry host of `account` in `region`, in the form `endpointType` names. */
export function ecrRegistryHost(account: string, region: string, endpointType: EcrSource['endpointType'] = 'standard'): string {
  if (endpointType === 'dualstack') return `${account}.dkr-ecr.${region}.on.aws`;
  const suffix = isChina(region) ? 'amazonaws.com.cn' : 'amazonaws.com';
  const service = endpointType === 'fips' ? 'dkr.ecr-fips' : 'dkr.ecr';
  return `${account}.${service}.${region}.${suffix}`;
}

/** ECR's API endpoints in `region` (standard, FIPS, dual-stack): where an `endpoint` may point by default. */
export function ecrApiHosts(region: string): string[] {
  const suffix = isChina(region) ? 'amazonaws.com.cn' : 'amazonaws.com';
  return [`api.ecr.${region}.${suffix}`, `ecr.${region}.${suffix}`, `ecr-fips.${region}.${suffix}`, `ecr.${region}.api.aws`, `ecr-fips.${region}.api.aws`];
}

/**
 * The problem with a source's `endpoint` under `outbound`: ECR's own API hosts of the source's region over
 * https, else only hosts the daemon's --outbound-hosts lists. Names the field, never the value.
 */
export function ecrEndpointProblem(source: EcrSource, outbound: OutboundPolicy = PUBLIC_ONLY): string | undefined {
  if (source.endpoint === undefined) return undefined;
  return outbound.urlProblem('endpoint', source.endpoint, REGION_RE.test(source.region) ? ecrApiHosts(source.region) : []);
}

function endpointProblem(endpoint: string): string | undefined {
  try {
    const url = new URL(endpoint);
    return url.protocol === 'https:' || url.protocol === 'http:' ? undefined : 'endpoint is not an http(s) URL';
  } catch {
    return 'endpoint is not a URL';
  }
}

/** Problems of an ECR source as written; empty when usable. Pure. */
export function validateEcrSource(source: EcrSource): string[] {
  const problems: string[] = [];
  const { region, accountIDs = [], roleARN, endpointType = 'standard', endpoint } = source;
  if (!region) problems.push('region is required');
  else if (!REGION_RE.test(region)) problems.push(`region "${region}" is not an AWS region name such as eu-central-1`);
  for (const id of accountIDs) if (!ACCOUNT_RE.test(id)) problems.push(`account ID "${id}" is not 12 digits`);
  if (roleARN !== undefined && !ROLE_ARN_RE.test(roleARN)) problems.push(`roleARN "${roleARN}" is not an IAM role ARN`);
  if (!ENDPOINT_TYPES.has(endpointType)) problems.push(`endpointType "${endpointType}" is not standard, fips or dualstack`);
  else if (endpointType !== 'standard' && region && isChina(region)) problems.push(`endpointType ${endpointType} is not offered in China regions`);
  const endpointIssue = endpoint === undefined ? undefined : endpointProblem(endpoint);
  if (endpointIssue) problems.push(endpointIssue);
  return problems;
}

/** Static keys from Secret data; undefined without a Secret; throws when the Secret lacks them. */
export function staticKeysOf(secret: SecretData | undefined): StaticKeys | undefined {
  if (secret === undefined) return undefined;
  const accessKeyId = secret.accessKeyID?.trim();
  const secretAccessKey = secret.secretKey?.trim();
  if (!accessKeyId || !secretAccessKey) throw new Error('the credentials Secret needs the keys accessKeyID and secretKey');
  const sessionToken = secret.sessionToken?.trim();
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

function keysDigest(secret: SecretData | undefined): string {
  if (secret === undefined) return 'ambient';
  const material = [secret.accessKeyID ?? '', secret.secretKey ?? '', secret.sessionToken ?? ''].join('\0');
  return `keys:sha256:${sha256Hex(material)}`;
}

/** The account of a proxyEndpoint such as https://123456789012.dkr.ecr.eu-central-1.amazonaws.com. */
function accountOf(proxyEndpoint: string | undefined): string | undefined {
  const host = (proxyEndpoint ?? '').replace(/^[a-z]+:\/\//i, '');
  const account = host.split('.')[0] ?? '';
  return ACCOUNT_RE.test(account) ? account : undefined;
}

export class EcrProvider implements CredentialProvider<EcrSource> {
  readonly kind = 'ECR' as const;
  private readonly ecrClient: EcrClientFactory;
  private readonly credentials: AwsCredentialsFactory;
  private readonly clock: Clock;
  private readonly outbound: OutboundPolicy;

  constructor(opts: EcrProviderOptions = {}) {
    this.ecrClient = opts.ecrClient ?? defaultEcrClient;
    this.credentials = opts.credentials ?? defaultAwsCredentials();
    this.clock = opts.clock ?? realClock;
    this.outbound = opts.outbound ?? PUBLIC_ONLY;
  }

  validate(source: EcrSource): string[] {
    const problems = validateEcrSource(source);
    const outbound = problems.length === 0 ? ecrEndpointProblem(source, this.outbound) : undefined;
    return outbound ? [...problems, outbound] : problems;
  }

  /**
   * One authorization token serves every account the principal may pull from in the region: the
   * accounts and the registry host form (endpointType) only decide where it is written.
   */
  identity(source: EcrSource, secret: SecretData | undefined): string {
    return JSON.stringify([source.region, source.endpoint ?? '', source.roleARN ?? '', keysDigest(secret)]);
  }

  retarget(source: EcrSource, fetched: FetchedCredentials): AuthEntry[] {
    const accounts = source.accountIDs?.length ? [...new Set(source.accountIDs)].sort() : [fetched.context?.account];
    return entriesFor(accounts.map((account) => {
      if (account === undefined) throw new Error('no accountIDs given and the response names no account');
      const registry = normalizeRegistryKey(ecrRegistryHost(account, source.region, source.endpointType));
      if (!registry) throw new Error(`account ${account} in ${source.region} gives no registry host`);
      return registry;
    }), fetched);
  }

  async fetch(source: EcrSource, secret: SecretData | undefined, signal?: AbortSignal): Promise<FetchedCredentials> {
    const where = `ECR GetAuthorizationToken in ${source.region}`;
    const refused = ecrEndpointProblem(source, this.outbound);
    if (refused) throw new Error(`${where} refused: ${refused}`);
    let client: EcrApi | undefined;
    try {
      const staticKeys = staticKeysOf(secret);
      const credentials = this.credentials({ region: source.region, ...optional({ roleARN: source.roleARN, staticKeys }) });
      client = this.ecrClient({ region: source.region, credentials, ...optional({ endpoint: source.endpoint }) });
      const { GetAuthorizationTokenCommand } = await ecrSdk();
      const output = await client.send(new GetAuthorizationTokenCommand({}), signal ? { abortSignal: signal } : undefined);
      return this.toCredentials(source, output);
    } catch (err) {
      const keys = [secret?.accessKeyID, secret?.secretKey, secret?.sessionToken];
      // No `cause`: the SDK error may carry request details, and a logged cause would bypass the scrub.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(scrub(`${where} failed: ${namedErrorMessage(err)}`, keys));
    } finally {
      client?.destroy?.();
    }
  }

  private toCredentials(source: EcrSource, output: GetAuthorizationTokenCommandOutput): FetchedCredentials {
    const data = output.authorizationData?.[0];
    const decoded = data?.authorizationToken ? decodeAuth(data.authorizationToken) : undefined;
    if (!data?.authorizationToken || !decoded?.password) throw new Error('the response carries no well-formed authorization token');
    const account = accountOf(data.proxyEndpoint);
    const login: FetchedCredentials = {
      entries: [{ registry: '', auth: data.authorizationToken, username: decoded.username, password: decoded.password }],
      expiresAt: data.expiresAt ?? new Date(this.clock.nowMs() + DEFAULT_TOKEN_LIFETIME_MS),
      ...(account ? { context: { account } } : {}),
    };
    return { ...login, entries: this.retarget(source, login) };
  }
}

/** `fields` without its undefined members, for option objects. */
function optional<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface ImpsEcrSecret {
  /** The ECR source the Secret describes; pass the same data as the `secret` of fetch() for its keys. */
  source: EcrSource;
  problems: string[];
}

/**
 * Reads an IMPS ECR login config Secret (keys accessKeyID, secretKey, region, accountID, optional roleArn).
 * Problems name keys, never values. Without accountID the caller's own account is used.
 */
export function ecrSourceFromImpsSecret(data: SecretData): ImpsEcrSecret {
  const problems = ['accessKeyID', 'secretKey', 'region']
    .filter((key) => !data[key]?.trim())
    .map((key) => `key ${key} is missing`);
  const region = data.region?.trim() ?? '';
  const accountID = data.accountID?.trim();
  const roleARN = data.roleArn?.trim();
  const source: EcrSource = { region, ...(accountID ? { accountIDs: [accountID] } : {}), ...(roleARN ? { roleARN } : {}) };
  if (region) problems.push(...validateEcrSource(source));
  return { source, problems };
}

/** Stands for the account of the daemon's own AWS identity where a source names none (`plan`). */
export const CALLER_ACCOUNT = '<account>';

function ecrSpecIssues(source: EcrSource, at: string): SourceIssue[] {
  const out: SourceIssue[] = [];
  (source.accountIDs ?? []).forEach((a, j) => {
    if (!ACCOUNT_RE.test(a)) out.push({ path: `${at}.accountIDs[${String(j)}]`, message: `"${a}" is not a 12-digit AWS account ID` });
  });
  if (source.roleARN !== undefined && !source.roleARN.startsWith('arn:')) out.push({ path: `${at}.roleARN`, message: 'is not an ARN' });
  if (source.endpoint !== undefined && !URL.canParse(source.endpoint)) out.push({ path: `${at}.endpoint`, message: 'is not a URL' });
  return [...out, ...secretReferenceIssues(source.credentialsSecret, `${at}.credentialsSecret`)];
}

/** The ECR provider's module (credentials/registry.ts). */
export const ecr: ProviderModule<'ECR', 'ecr', EcrSource> = {
  kind: 'ECR',
  field: 'ecr',
  schema: obj({
    region: nonEmpty(),
    accountIDs: list(str({ pattern: '^[0-9]{12}$' })),
    roleARN: str({ pattern: '^arn:' }),
    credentialsSecret: secretReferenceSchema('Secret with accessKeyID and secretKey; else the daemon\'s own AWS identity.'),
    endpointType: str({ enum: ['standard', 'fips', 'dualstack'] }),
    endpoint: str({ description: 'ECR API endpoint override (private endpoints).' }),
  }, ['region']),
  validateSpec: ecrSpecIssues,
  secretRef: (source) => source.credentialsSecret,
  reference: (source) => `ECR ${source.region}${source.accountIDs?.length ? ` ${source.accountIDs.join(',')}` : ''}`,
  registries: (source) => (source.accountIDs?.length ? source.accountIDs : [CALLER_ACCOUNT])
    .map((account) => ecrRegistryHost(account, source.region, source.endpointType)),
  create: (settings) => new EcrProvider(settings.outbound ? { outbound: settings.outbound } : {}),
};
