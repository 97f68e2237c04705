// The least a mutating webhook can be, for bench/admission-latency.ts's `floor` phase: the same HTTP/2
// server as the daemon's (node:http2, TLS, HTTP/1.1 allowed) that parses each review and answers it at
// once, with the JSON patch that adds `--secret` for a pod in a namespace named `--selected-prefix…`
// and "allowed, unchanged" for any other. No caches, no metrics, no logging: what the API server's
// call to a webhook costs on this machine whatever the webhook does.
// `node --import tsx bench/floor-webhook.ts --port=N --cert=FILE --key=FILE --selected-prefix=P --secret=NAME`
import { createSecureServer } from 'node:http2';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: node --import tsx bench/floor-webhook.ts --port=N --cert=FILE --key=FILE --selected-prefix=P --secret=NAME
Serves POST reviews on 127.0.0.1:N: pods in namespaces whose name starts with P get imagePullSecrets
[NAME]; every other pod is allowed unchanged. For bench/admission-latency.ts (--phases=floor).`);
  process.exit(0);
}
const option = (name: string): string => {
  const value = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  if (!value) throw new Error(`--${name} is required (see --help)`);
  return value;
};
const port = Number(option('port'));
const prefix = option('selected-prefix');
const patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/spec/imagePullSecrets', value: [{ name: option('secret') }] }])).toString('base64');

interface Review { request?: { uid?: string; namespace?: string } }

const server = createSecureServer({ cert: readFileSync(option('cert')), key: readFileSync(option('key')), allowHTTP1: true }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => { chunks.push(c); });
  req.on('end', () => {
    let review: Review;
    try {
      review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Review;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const selected = review.request?.namespace?.startsWith(prefix) === true;
    const text = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      response: { uid: review.request?.uid ?? '', allowed: true, ...(selected ? { patchType: 'JSONPatch', patch } : {}) } });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
  });
});
server.listen(port, '127.0.0.1', () => { console.error(`floor webhook on 127.0.0.1:${String(port)}`); });
process.once('SIGTERM', () => { server.close(); process.exit(0); });
