// The STS session policy that narrows an ECR authorization token to repositories. An ECR token carries
// the permissions of the principal that requested it, so a token requested under this policy can pull
// and push the named repositories and nothing else (IAM intersects a session policy with the role's own).
// Pure.

/** Actions a build needs on a repository: pull (first three) and push. */
export const ECR_REPOSITORY_ACTIONS = [
  'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability',
  'ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload',
] as const;

/** Session policies allow at most 15 minutes of exposure for a handed-out token's principal. */
export const SCOPED_SESSION_SECONDS = 900;

/** The AWS partition of a region: aws-cn for China, aws-us-gov for GovCloud, else aws. */
export function awsPartition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export function ecrRepositoryArn(region: string, accountId: string, repository: string): string {
  return `arn:${awsPartition(region)}:ecr:${region}:${accountId}:repository/${repository}`;
}

/**
 * The policy document (JSON) allowing GetAuthorizationToken (which IAM only grants on `*`) and the
 * pull/push actions on exactly the given repositories. Throws on an empty list: a policy naming no
 * repository would still hand out a working login.
 */
export function ecrSessionPolicy(region: string, accountId: string, repositories: readonly string[]): string {
  if (repositories.length === 0) throw new Error('an ECR session policy needs at least one repository');
  const resources = [...new Set(repositories)].sort().map((r) => ecrRepositoryArn(region, accountId, r));
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      { Effect: 'Allow', Action: [...ECR_REPOSITORY_ACTIONS], Resource: resources },
    ],
  });
}
