// The bed's own network: a bridge and a /24 in 10.233.0.0/16, both derived from the bed's directory, so
// the control plane (its advertised address), the certificates (their SANs) and the node agree on it
// before the node exists, and two beds on one machine rarely collide.
import { createHash } from 'node:crypto';

export interface BedNetwork {
  /** The Linux bridge the node's pods attach to. */
  bridge: string;
  subnet: string;
  /** The host's address on the bridge: the pods' gateway, and where pods reach the API server and registry. */
  address: string;
}

export function bedNetwork(bedDir: string): BedNetwork {
  const hash = createHash('sha256').update(bedDir).digest();
  const third = hash[0] ?? 0;
  return { bridge: `psb${hash.toString('hex').slice(0, 8)}`, subnet: `10.233.${third}.0/24`, address: `10.233.${third}.1` };
}
