// ECR repository creation for builders (`builder.ecrRepositoryCreation`): ECR, unlike most registries,
// refuses a push to a repository that does not exist, so a builder asks first. `ensure` looks the
// repository up (DescribeRepositories), creates it when missing with the CR's tag mutability, scan-on-push
// and tags (CreateRepository; losing a creation race is fine), and makes the repository and lifecycle
// policies equal to the CR's (SetRepositoryPolicy / PutLifecyclePolicy, only when they differ). The SDK
// client comes from an injected factory, so the controller decides whose AWS identity is used. A
// repository recently ensured for the same CR generation is not asked about again for `cacheTtlMs`.
// The AWS SDK is imported on the first ensure, not with this module (BENCHMARKS.md "Module loading").
import { LRUCache } from 'lru-cache';
import type { EcrRepositoryCreation, ImagePullSecret } from '../api/v1alpha1/types.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { canonicalJson } from '../util/json.ts';
import type { EcrRepositories } from './access.ts';
import type { EcrApi } from '../credentials/ecr.ts';
import { ecrSdk } from '../credentials/sdks.ts';

type Client = EcrApi;
interface RepositoryIds { registryId: string; repositoryName: string }

/** The ECR client that acts for `ips` in `region`; the daemon makes it with credentials/ecr.ts's EcrClientFactory. */
export type EcrClientFor = (ips: ImagePullSecret, region: string) => EcrApi | Promise<EcrApi>;

/** An ECR call failed; the message names the operation and the AWS error, never credentials. */
export class EcrRepositoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EcrRepositoryError';
  }
}

const ECR_HOST_RE = /^(\d{12})\.(?:dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|dkr-ecr\.([a-z0-9-]+)\.on\.aws)$/;

/** Account and region of an ECR registry host (standard, FIPS, China and dual-stack forms), else undefined. */
export function parseEcrHost(host: string): { accountId: string; region: string } | undefined {
  const m = ECR_HOST_RE.exec(host.toLowerCase());
  const accountId = m?.[1];
  const region = m?.[2] ?? m?.[3];
  return accountId && region ? { accountId, region } : undefined;
}

function errorName(err: unknown): string {
  return (err as { name?: unknown }).name === undefined ? 'Error' : String((err as { name?: unknown }).name);
}

/** Policy text with sorted keys, so two spellings of one policy compare equal. Non-JSON text compares as itself. */
function canonicalPolicy(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    return canonicalJson(JSON.parse(text));
  } catch {
    return text;
  }
}

export interface EcrRepositoryManagerOptions {
  client: EcrClientFor;
  clock?: Clock;
  /** How long a repository, once ensured, is not asked about again; default 60 s. */
  cacheTtlMs?: number;
}

export class EcrRepositoryManager implements EcrRepositories {
  private readonly ensured = new LRUCache<string, number>({ max: 10_000 });
  private readonly clock: Clock;

  constructor(private readonly opts: EcrRepositoryManagerOptions) {
    this.clock = opts.clock ?? realClock;
  }

  async ensure(ips: ImagePullSecret, host: string, repository: string): Promise<{ created: boolean }> {
    const target = parseEcrHost(host);
    if (!target) throw new EcrRepositoryError(`${host} is not an ECR registry host`);
    const settings = ips.spec.builder?.ecrRepositoryCreation;
    if (!settings?.enabled) throw new EcrRepositoryError(`ImagePullSecret ${ips.metadata.name} does not enable ECR repository creation`);
    const cacheKey = `${ips.metadata.uid ?? ips.metadata.name}/${ips.metadata.generation ?? 0}/${host}/${repository}`;
    const until = this.ensured.get(cacheKey);
    if (until !== undefined && until > this.clock.nowMs()) return { created: false };
    const client = await this.opts.client(ips, target.region);
    const ids = { registryId: target.accountId, repositoryName: repository };
    let created: boolean;
    try {
      created = !(await this.exists(client, ids)) && await this.create(client, ids, settings);
      await this.ensurePolicies(client, ids, settings, created);
    } finally {
      client.destroy?.();
    }
    this.ensured.set(cacheKey, this.clock.nowMs() + (this.opts.cacheTtlMs ?? 60_000));
    return { created };
  }

  private async exists(client: Client, { registryId, repositoryName }: RepositoryIds): Promise<boolean> {
    const ecr = await ecrSdk();
    const found = await ecrCall('DescribeRepositories', () => client.send(new ecr.DescribeRepositoriesCommand({ registryId, repositoryNames: [repositoryName] })), 'RepositoryNotFoundException');
    return found !== undefined;
  }

  /** True when this call created the repository; false when someone else won the race. */
  private async create(client: Client, ids: RepositoryIds, settings: EcrRepositoryCreation): Promise<boolean> {
    const ecr = await ecrSdk();
    const made = await ecrCall('CreateRepository', () => client.send(new ecr.CreateRepositoryCommand({
      ...ids,
      ...(settings.imageTagMutability ? { imageTagMutability: settings.imageTagMutability } : {}),
      ...(settings.scanOnPush === undefined ? {} : { imageScanningConfiguration: { scanOnPush: settings.scanOnPush } }),
      ...(settings.tags?.length ? { tags: settings.tags.map((t) => ({ Key: t.key, Value: t.value })) } : {}),
    })), 'RepositoryAlreadyExistsException');
    return made !== undefined;
  }

  /** The repository and lifecycle policies the CR names; a new repository has none to read. */
  private async ensurePolicies(client: Client, ids: RepositoryIds, settings: EcrRepositoryCreation, fresh: boolean): Promise<void> {
    const ecr = await ecrSdk();
    const { accessPolicy, lifecyclePolicy } = settings;
    if (accessPolicy !== undefined) {
      await ensurePolicy(accessPolicy, fresh,
        async () => (await ecrCall('GetRepositoryPolicy', () => client.send(new ecr.GetRepositoryPolicyCommand(ids)), 'RepositoryPolicyNotFoundException'))?.policyText,
        () => ecrCall('SetRepositoryPolicy', () => client.send(new ecr.SetRepositoryPolicyCommand({ ...ids, policyText: accessPolicy }))));
    }
    if (lifecyclePolicy !== undefined) {
      await ensurePolicy(lifecyclePolicy, fresh,
        async () => (await ecrCall('GetLifecyclePolicy', () => client.send(new ecr.GetLifecyclePolicyCommand(ids)), 'LifecyclePolicyNotFoundException'))?.lifecyclePolicyText,
        () => ecrCall('PutLifecyclePolicy', () => client.send(new ecr.PutLifecyclePolicyCommand({ ...ids, lifecyclePolicyText: lifecyclePolicy }))));
    }
  }
}

/** Writes policy `wanted` unless the repository is new or already has it (compared as canonical JSON). */
async function ensurePolicy(wanted: string, fresh: boolean, read: () => Promise<string | undefined>, write: () => Promise<unknown>): Promise<void> {
  if (!fresh && canonicalPolicy(await read()) === canonicalPolicy(wanted)) return;
  await write();
}

/** The result of `call`, or undefined when it failed with the AWS error `absent`; other failures name `operation`. */
async function ecrCall<T>(operation: string, call: () => Promise<T>, absent?: string): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (absent !== undefined && errorName(err) === absent) return undefined;
    throw wrap(operation, err);
  }
}

function wrap(operation: string, err: unknown): EcrRepositoryError {
  const message = err instanceof Error ? err.message : '';
  return new EcrRepositoryError(`ECR ${operation} failed: ${errorName(err)}${message ? `: ${message}` : ''}`);
}
