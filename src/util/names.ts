// Kubernetes object names: RFC 1123 labels (namespaces, Services) and subdomains (Secrets, most others).

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const isDnsLabel = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s);
export const isDnsSubdomain = (s: string): boolean => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
