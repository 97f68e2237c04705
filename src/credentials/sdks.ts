// The cloud SDKs, each imported the first time a token of its cloud is needed and never at start: a
// cluster that uses no cloud loads none of them (docs/adr/0005-memory-design.md). Every use goes through
// the one loader of its SDK here; test/integration/idle-footprint.test.ts fails when the idle daemon
// loads any of them.
type EcrSdk = typeof import('@aws-sdk/client-ecr');
type AwsCredentialProviders = typeof import('@aws-sdk/credential-providers');
type AzureIdentity = typeof import('@azure/identity');
type GoogleAuth = typeof import('google-auth-library');

/** `@aws-sdk/client-ecr` with the Smithy stack. */
export const ecrSdk = (): Promise<EcrSdk> => import('@aws-sdk/client-ecr');
/** `@aws-sdk/credential-providers` (node provider chain, STS AssumeRole). */
export const awsCredentialProviders = (): Promise<AwsCredentialProviders> => import('@aws-sdk/credential-providers');
/** `@azure/identity` with MSAL. */
export const azureIdentity = (): Promise<AzureIdentity> => import('@azure/identity');
/** `google-auth-library` with gaxios. */
export const googleAuth = (): Promise<GoogleAuth> => import('google-auth-library');
