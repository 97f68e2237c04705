// The shapes of the core objects the controller caches and writes, narrowed to the fields it uses.
import type { KubeObject } from './store.ts';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  generation?: number;
}

export interface Secret extends KubeObject {
  apiVersion?: 'v1';
  kind?: 'Secret';
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
}

/** Namespaces and pods are cached as PartialObjectMetadata: metadata only. */
export interface MetadataObject extends KubeObject {
  metadata: ObjectMeta;
}

export interface ServiceAccount extends KubeObject {
  metadata: ObjectMeta;
  imagePullSecrets?: { name: string }[];
}

export const DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson';
export const DOCKER_CONFIG_JSON_KEY = '.dockerconfigjson';
