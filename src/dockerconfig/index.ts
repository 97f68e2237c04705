// Docker config handling: parse source Secrets, normalise registry keys, merge deterministically.
export { hasUserInfo, keyLengthProblem, normalizeRegistryKey, MAX_REGISTRY_KEY_LENGTH, registryHost, DOCKER_HUB_KEY } from './registry-key.ts';
export { parseSourceSecret, parseAuths, payloadEntries, toEntry, encodeAuth, decodeAuth, loginEntry, DOCKER_CFG_TYPE, DOCKER_CONFIG_JSON_TYPE, type AuthEntry, type Parsed } from './parse.ts';
export { dataHash, encodedDataHash, mergeContributions, serialize, type Contribution, type DockerConfig, type Merged, type Shadowing } from './merge.ts';
