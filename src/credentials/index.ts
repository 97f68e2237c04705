// The credentials package: the provider interface, the token cache in front of every provider, the
// cloud providers and the registry that lists them. The controller imports from here only.
export type { CredentialProvider, FetchedCredentials, SecretData } from './provider.ts';
export type { ProviderModule, ProviderSettings, SecretReference, SourceIssue } from './provider-module.ts';
export {
  PROVIDERS, PROVIDER_KINDS, PROVIDER_MODULES, createProviders, providerSources,
  type CloudProviders, type ProviderKind, type ProviderSources, type SourceOf,
} from './registry.ts';
export { TokenCache, type FetchResult, type TokenCacheOptions, type TokenState } from './token-cache.ts';
export { nextRefresh, failureBackoff, type RefreshInput, type FailureBackoffOptions } from './refresh-policy.ts';
export {
  EcrProvider, ecrEndpointProblem, ecrSourceFromImpsSecret, staticKeysOf, ecrRegistryHost, validateEcrSource, defaultEcrClient, defaultAwsCredentials,
  ECR_SECRET_TYPE, IMPS_ECR_SECRET_TYPE, ROLE_SESSION_NAME,
  type AwsCredentials, type AwsCredentialsFactory, type EcrApi, type EcrClientConfig, type EcrClientFactory, type EcrProviderOptions, type ImpsEcrSecret,
  type StaticKeys,
} from './ecr.ts';
export { GcpProvider, parseGcpCredentials, defaultGcpAuthFactory, GCP_SCOPE, GCP_USERNAME, GCP_DEFAULT_KEY, type GcpAuthFactory, type GcpProviderOptions } from './gcp.ts';
export {
  AzureProvider, defaultAzureCredentialFactory, ACR_USERNAME, AZURE_DEFAULT_KEY, type AzureCredentialFactory, type AzureProviderOptions,
} from './azure.ts';
