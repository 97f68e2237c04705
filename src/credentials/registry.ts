// The one list of credential providers. Everything that differs by provider (the CRD's spec.registry
// lists, validation, `plan`, the daemon's providers, metric label values) reads it here, so registering a
// provider is one line below; the compiler refuses a module whose kind is not its key. Secret sources
// (spec.registry.credentials) are no provider: their bytes are copied as they are, never fetched or
// refreshed (controller/decide/sources.ts).
import { azure } from './azure.ts';
import { ecr } from './ecr.ts';
import { gcp } from './gcp.ts';
import type { ProviderModule } from './provider-module.ts';
import type { CredentialProvider } from './provider.ts';

/** Keeps the literal types of `modules` and checks that each module's kind is its key. */
function register<T extends { [K in keyof T]: ProviderModule<K & string> }>(modules: T): T {
  return modules;
}

/** Every provider, keyed by kind, in the order of spec.registry's lists (and so of status and `plan`). */
export const PROVIDERS = register({
  ECR: ecr,
  GCP: gcp,
  Azure: azure,
});

type Modules = typeof PROVIDERS;
export type ProviderKind = keyof Modules;
/** The source type of a provider, e.g. EcrSource for ECR. */
export type SourceOf<K extends ProviderKind> = Modules[K] extends ProviderModule<string, string, infer S> ? S : never;
type FieldOf<K extends ProviderKind> = Modules[K]['field'];

/** The provider lists of spec.registry, e.g. `ecr?: EcrSource[]`. */
export type ProviderSources = { [K in ProviderKind as FieldOf<K>]?: SourceOf<K>[] };

/** Providers the daemon fetches with, by spec.registry list; a missing one reports "not enabled". */
export type CloudProviders = { [K in ProviderKind as FieldOf<K>]?: CredentialProvider<SourceOf<K>> };

/** The modules in registry order, for code that treats every provider alike. */
export const PROVIDER_MODULES: readonly ProviderModule[] = Object.values(PROVIDERS);
export const PROVIDER_KINDS = Object.keys(PROVIDERS) as ProviderKind[];

/** One source of a spec with the module that reads it. */
export interface SourceOfSpec {
  module: ProviderModule;
  source: unknown;
  /** Where it stands, e.g. `spec.registry.ecr[0]`. */
  path: string;
}

/** Every provider source of a spec.registry, in registry order then list order. */
export function providerSources(registry: ProviderSources, modules: readonly ProviderModule[] = PROVIDER_MODULES, at = 'spec.registry'): SourceOfSpec[] {
  const lists = registry as Readonly<Record<string, readonly unknown[] | undefined>>;
  return modules.flatMap((module) => (Object.hasOwn(lists, module.field) ? lists[module.field] ?? [] : [])
    .map((source, i) => ({ module, source, path: `${at}.${module.field}[${String(i)}]` })));
}

/** The providers `settings` configure, one per registered module. */
export function createProviders(settings: Parameters<ProviderModule['create']>[0]): CloudProviders {
  return Object.fromEntries(PROVIDER_MODULES.map((m) => [m.field, m.create(settings)]));
}
