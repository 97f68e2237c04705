// A flood of builder requests with bearer tokens the API server refuses, from many loopback source
// addresses, each with many keep-alive connections, run in a worker thread so the test's own polling stays
// responsive. Every request carries a token never seen before, so no cache can answer it: the worst case
// for TokenReviews.
import { Worker } from 'node:worker_threads';

export interface FloodOptions {
  url: string;
  /** Source addresses, e.g. 127.0.0.2 … 127.0.0.9. */
  addresses: string[];
  connectionsPerAddress: number;
  durationMs: number;
}

export interface FloodResult {
  /** Answers by HTTP status; `error` counts requests that got no answer. */
  statuses: Record<string, number>;
  requests: number;
}

const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const https = require('node:https');
const { randomBytes } = require('node:crypto');
const { url, addresses, connectionsPerAddress, durationMs } = workerData;
const statuses = {};
let requests = 0;
const end = Date.now() + durationMs;
function one(agent, localAddress) {
  return new Promise((resolve) => {
    const req = https.request(url + '/v1/credentials', { method: 'POST', agent, localAddress, rejectUnauthorized: false, timeout: 10000,
      headers: { Authorization: 'Bearer flood-' + randomBytes(16).toString('hex'), 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => { statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1; resolve(); });
      res.on('error', () => { statuses.error = (statuses.error || 0) + 1; resolve(); });
    });
    req.on('timeout', () => { req.destroy(new Error('timeout')); });
    req.on('error', () => { statuses.error = (statuses.error || 0) + 1; resolve(); });
    req.end('{"serverURL":"registry.flood.test"}');
    requests++;
  });
}
async function connection(agent, localAddress) {
  while (Date.now() < end) await one(agent, localAddress);
}
const agents = addresses.map(() => new https.Agent({ keepAlive: true, maxSockets: connectionsPerAddress }));
Promise.all(addresses.flatMap((a, i) => Array.from({ length: connectionsPerAddress }, () => connection(agents[i], a))))
  .then(() => { for (const agent of agents) agent.destroy(); parentPort.postMessage({ statuses, requests }); });
`;

/** Runs the flood for `durationMs`; resolves with what the server answered. */
export function flood(opts: FloodOptions): Promise<FloodResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: opts });
    worker.once('message', (result: FloodResult) => { resolve(result); void worker.terminate(); });
    worker.once('error', reject);
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`the flood worker exited with ${String(code)}`)); });
  });
}
