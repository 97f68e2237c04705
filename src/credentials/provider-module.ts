// What a credential provider tells the rest of the program about itself, beyond fetching tokens: the list
// of spec.registry it reads, the schema and checks of one source there, the Secret it reads, how status
// and `plan` name it and which registries it serves, and how the daemon creates it. Each provider module
// exports one of these and registry.ts lists them; the CRD, validation, `plan`, the controller and the
// metrics ask the registry, so a new provider is its module and one line there.
import type { OutboundPolicy } from '../util/outbound.ts';
import { isDnsLabel, isDnsSubdomain } from '../util/names.ts';
import { nonEmpty, obj, type Schema } from '../util/openapi.ts';
import type { CredentialProvider } from './provider.ts';

/** A reference to a Secret in some namespace; `key` picks one data key where the source needs one. */
export interface SecretReference {
  name: string;
  namespace: string;
  key?: string;
}

/** A problem of a spec as written: a JSON-path-like location and a user-facing message. */
export interface SourceIssue {
  path: string;
  message: string;
}

/** What the daemon's configuration says about providers (each from a flag of `run`). */
export interface ProviderSettings {
  /** Workload identity token file of Azure. */
  azureFederatedTokenFile?: string;
  /** The Google universe whose endpoints GCP credentials may name. */
  gcpUniverseDomain?: string;
  /** What Secret and resource content may make the daemon reach (util/outbound.ts); default the public endpoints only. */
  outbound?: OutboundPolicy;
}

/**
 * One credential provider as the program sees it. Methods, not function properties, so that a module of
 * any source type fits the registry's list of modules.
 */
export interface ProviderModule<K extends string = string, F extends string = string, S = unknown> {
  /** The provider's name in status (`kind`), in `plan` and in metric labels. */
  readonly kind: K;
  /** The list under spec.registry that holds sources of this provider. */
  readonly field: F;
  /** OpenAPI v3 schema of one source (an item of that list). */
  readonly schema: Schema;
  /**
   * Where the provider reads a Secret's single data key, the key when the reference names none; absent
   * when it reads fixed keys of the whole Secret.
   */
  readonly defaultSecretKey?: string;
  /** Pure: what the schema cannot say about one source as written; `path` is where it stands. */
  validateSpec(source: S, path: string): SourceIssue[];
  /** The Secret the source takes credentials from, if any. */
  secretRef(source: S): SecretReference | undefined;
  /** How status and `plan` name the source, e.g. `ECR eu-central-1`. Never secret. */
  reference(source: S): string;
  /** The registry hosts the source's login is written for, as far as they are known without a fetch. */
  registries(source: S): string[];
  /** The provider the daemon fetches with. Cloud SDKs load on the first fetch, not here. */
  create(settings: ProviderSettings): CredentialProvider<S> & { readonly kind: K };
}

/** The schema of a Secret reference; `withKey` adds the data key to read. */
export const secretReferenceSchema = (description: string, withKey = false): Schema => obj({
  name: nonEmpty({ maxLength: 253 }),
  namespace: nonEmpty({ maxLength: 63 }),
  ...(withKey ? { key: nonEmpty({ description: 'Data key holding the credential.' }) } : {}),
}, ['name', 'namespace'], { description });

/** Problems of a Secret reference's name and namespace; none for no reference. */
export function secretReferenceIssues(ref: SecretReference | undefined, path: string): SourceIssue[] {
  if (!ref) return [];
  const out: SourceIssue[] = [];
  if (!isDnsSubdomain(ref.name)) out.push({ path: `${path}.name`, message: `"${ref.name}" is not a valid Secret name` });
  if (!isDnsLabel(ref.namespace)) out.push({ path: `${path}.namespace`, message: `"${ref.namespace}" is not a valid namespace name` });
  return out;
}
