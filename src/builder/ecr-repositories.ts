// ECR repository creation for builders (`builder.ecrRepositoryCreation`): ECR, unlike most registries,
// refuses a push to a repository that does not exist, so a builder asks first. `ensure` looks the
// repository up (DescribeRepositories), creates it when missing with the CR's tag mutability, scan-on-push
// and tags (CreateRepository; losing a creation race is fine), and makes the repository and lifecycle
// policies equal to the CR's (SetRepositoryPolicy / PutLifecyclePolicy, only when they differ). The SDK
// client comes from an injected factory, so the controller decides whose AWS identity is used. A
// repository recently ensured for the same CR generation is not asked about again for `cacheTtlMs`.
// The AWS SDK is imported on the first ensure, not with this module (BENCHMARKS.md "Module loading").
import type { ECRClient } from '@aws-sdk/client-ecr';
import { LRUCache } from 'lru-cache';
import type { EcrRepositoryCreation, ImagePullSecret } from '../api/v1alpha1/types.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { canonicalJson } from '../util/json.ts';
import type { EcrRepositories } from './access.ts';

export type EcrClientFactory = (ips: ImagePullSecret, region: string) => Pick<ECRClient, 'send'> | Promise<Pick<ECRClient, 'send'>>;

const sdk = () => import('@aws-sdk/client-ecr');

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
  client: EcrClientFactory;
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
    const registryId = target.accountId;
    const created = !(await this.exists(client, registryId, repository)) && await this.create(client, registryId, repository, settings);
    if (settings.accessPolicy !== undefined) await this.ensureRepositoryPolicy(client, registryId, repository, settings.accessPolicy, created);
    if (settings.lifecyclePolicy !== undefined) await this.ensureLifecyclePolicy(client, registryId, repository, settings.lifecyclePolicy, created);
    this.ensured.set(cacheKey, this.clock.nowMs() + (this.opts.cacheTtlMs ?? 60_000));
    return { created };
  }

  private async exists(client: Pick<ECRClient, 'send'>, registryId: string, repositoryName: string): Promise<boolean> {
    try {
      await client.send(new (await sdk()).DescribeRepositoriesCommand({ registryId, repositoryNames: [repositoryName] }));
      return true;
    } catch (err) {
      if (errorName(err) === 'RepositoryNotFoundException') return false;
      throw wrap('DescribeRepositories', err);
    }
  }

  /** True when this call created the repository; false when someone else won the race. */
  private async create(client: Pick<ECRClient, 'send'>, registryId: string, repositoryName: string, settings: EcrRepositoryCreation): Promise<boolean> {
    try {
      await client.send(new (await sdk()).CreateRepositoryCommand({
        registryId,
        repositoryName,
        ...(settings.imageTagMutability ? { imageTagMutability: settings.imageTagMutability } : {}),
        ...(settings.scanOnPush === undefined ? {} : { imageScanningConfiguration: { scanOnPush: settings.scanOnPush } }),
        ...(settings.tags?.length ? { tags: settings.tags.map((t) => ({ Key: t.key, Value: t.value })) } : {}),
      }));
      return true;
    } catch (err) {
      if (errorName(err) === 'RepositoryAlreadyExistsException') return false;
      throw wrap('CreateRepository', err);
    }
  }

  private async ensureRepositoryPolicy(client: Pick<ECRClient, 'send'>, registryId: string, repositoryName: string, policy: string, fresh: boolean): Promise<void> {
    if (!fresh) {
      const current = await client.send(new (await sdk()).GetRepositoryPolicyCommand({ registryId, repositoryName })).then(
        (out) => out.policyText,
        (err: unknown) => { if (errorName(err) === 'RepositoryPolicyNotFoundException') return undefined; throw wrap('GetRepositoryPolicy', err); },
      );
      if (canonicalPolicy(current) === canonicalPolicy(policy)) return;
    }
    await client.send(new (await sdk()).SetRepositoryPolicyCommand({ registryId, repositoryName, policyText: policy })).catch((err: unknown) => {
      throw wrap('SetRepositoryPolicy', err);
    });
  }

  private async ensureLifecyclePolicy(client: Pick<ECRClient, 'send'>, registryId: string, repositoryName: string, policy: string, fresh: boolean): Promise<void> {
    if (!fresh) {
      const current = await client.send(new (await sdk()).GetLifecyclePolicyCommand({ registryId, repositoryName })).then(
        (out) => out.lifecyclePolicyText,
        (err: unknown) => { if (errorName(err) === 'LifecyclePolicyNotFoundException') return undefined; throw wrap('GetLifecyclePolicy', err); },
      );
      if (canonicalPolicy(current) === canonicalPolicy(policy)) return;
    }
    await client.send(new (await sdk()).PutLifecyclePolicyCommand({ registryId, repositoryName, lifecyclePolicyText: policy })).catch((err: unknown) => {
      throw wrap('PutLifecyclePolicy', err);
    });
  }
}

function wrap(operation: string, err: unknown): EcrRepositoryError {
  const message = err instanceof Error ? err.message : '';
  return new EcrRepositoryError(`ECR ${operation} failed: ${errorName(err)}${message ? `: ${message}` : ''}`);
}
