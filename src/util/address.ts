// `[host]:port` listen addresses of the daemon's servers (`:8080`, `127.0.0.1:0`, `[::1]:8443`). An
// empty host means every interface.

const ADDRESS = /^(?:\[([0-9a-fA-F:]+)\]|([\w.-]*)):(\d{1,5})$/;

export function parseAddress(addr: string): { host?: string; port: number } | undefined {
  const m = ADDRESS.exec(addr);
  if (!m) return undefined;
  const host = m[1] ?? m[2];
  return { ...(host ? { host } : {}), port: Number(m[3]) };
}
