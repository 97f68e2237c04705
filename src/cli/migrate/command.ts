// `pullsecret-sync migrate FILE…` and `migrate --from-cluster`: IMPS ImagePullSecrets become
// pullsecret-sync ImagePullSecrets on stdout; every other document passes through unchanged. Anything that
// does not carry over unchanged (dropped server fields and status, and whatever the new API would reject
// or the daemon would report as invalid) is named on stderr. The output is meant for review and `kubectl
// apply`; the IMPS objects themselves are left alone.
import { Document, parseAllDocuments } from 'yaml';
import { errorMessage } from '../../util/errors.ts';
import { ConfigError, optionLines, parseCommandArgs, type Options } from '../args.ts';
import { printHelp, type Command, type Io } from '../command.ts';
import { readText, STDIN_NAME } from '../documents.ts';
import { listImps } from './cluster.ts';
import { KUBECONFIG_DEFAULT } from '../../kube/kubeconfig.ts';
import { IMPS_API_VERSION, isImps, migrateResource } from './resource.ts';
import { checkResource, nameOf } from '../../api/v1alpha1/resource-check.ts';

const options: Options = {
  'from-cluster': { type: 'boolean', help: `read the IMPS resources (${IMPS_API_VERSION}) from the cluster` },
  kubeconfig: { type: 'string', value: 'FILE', help: `kubeconfig for --from-cluster, a file or path list; default: ${KUBECONFIG_DEFAULT}` },
  context: { type: 'string', value: 'NAME', help: 'kubeconfig context for --from-cluster' },
};

function usage(): string {
  return [
    'usage: pullsecret-sync migrate FILE...        ("-" reads stdin)',
    '       pullsecret-sync migrate --from-cluster [--kubeconfig FILE] [--context NAME]',
    '',
    `Converts IMPS ImagePullSecrets (${IMPS_API_VERSION}) to pullsecret-sync.dev/v1alpha1 and prints`,
    'the result as YAML; other documents pass through unchanged. What does not carry over unchanged is',
    'named on stderr. Review the output, then kubectl apply -f it; check it with pullsecret-sync validate.',
    '',
    'The Secrets IMPS wrote stay IMPS\'s: each such namespace is a Conflict until they go. To hand them over',
    'without a gap, stop IMPS, apply the output and run the daemon with --adopt-imps-secrets; delete the IMPS',
    'resources only after that (their Secrets are owned by them). See README, Migrating from IMPS.',
    '',
    'flags:',
    ...optionLines(options),
  ].join('\n');
}

/** Converts every IMPS resource of `doc` (a single object or a List), reporting what changed on stderr. */
function convert(file: string, doc: Document, io: Io): void {
  const js = doc.toJS() as { kind?: unknown; items?: unknown } | null;
  const at = js && typeof js.kind === 'string' && js.kind.endsWith('List') && Array.isArray(js.items)
    ? js.items.map((item, i) => ({ item: item as Record<string, unknown>, path: ['items', i] }))
    : [{ item: js as Record<string, unknown>, path: [] }];
  for (const { item, path } of at) {
    if (!isImps(item)) continue;
    const label = `${file}: ImagePullSecret/${nameOf(item)}`;
    for (const note of migrateResource(doc, path)) io.stderr.write(`${label}: ${note}\n`);
    const converted = (path.length ? doc.getIn(path, false) : doc.contents) as { toJSON(): Record<string, unknown> } | null;
    for (const p of checkResource(converted?.toJSON() ?? {})) {
      io.stderr.write(`${label}: ${p.path}: ${p.message} (${p.layer === 'api' ? 'the API server rejects this' : 'the daemon reports this as InvalidSpec'})\n`);
    }
  }
}

async function documents(files: string[], fromCluster: boolean, values: Record<string, unknown>, io: Io): Promise<{ file: string; doc: Document }[] | undefined> {
  if (fromCluster) {
    const items = await listImps({ kubeconfig: values.kubeconfig as string | undefined ?? io.env.KUBECONFIG, context: values.context as string | undefined });
    return items.map((item) => ({ file: 'cluster', doc: new Document(item) }));
  }
  const out: { file: string; doc: Document }[] = [];
  for (const file of files) {
    const name = file === '-' ? STDIN_NAME : file;
    const parsed = parseAllDocuments(await readText(file, io.stdin));
    const broken = parsed.find((d) => d.errors.length);
    if (broken) {
      io.stderr.write(`${name}: ${broken.errors.map((e) => e.message.split('\n')[0] ?? '').join('; ')}\n`);
      return undefined;
    }
    out.push(...parsed.map((doc) => ({ file: name, doc })));
  }
  return out;
}

export const migrateCommand: Command = {
  summary: 'convert IMPS ImagePullSecrets to this API',
  usage,
  main: async (args, io) => {
    const parsed = parseCommandArgs('migrate', options, args);
    if (parsed.help) return printHelp(migrateCommand, io);
    const fromCluster = parsed.values['from-cluster'] === true;
    if (fromCluster === (parsed.positionals.length > 0)) {
      throw new ConfigError('migrate: name FILEs ("-" for stdin) or --from-cluster, one of the two (see pullsecret-sync migrate --help)');
    }
    let docs;
    try {
      docs = await documents(parsed.positionals, fromCluster, parsed.values, io);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      io.stderr.write(`pullsecret-sync: migrate: ${errorMessage(err)}\n`);
      return 1;
    }
    if (!docs) return 1;
    for (const { file, doc } of docs) convert(file, doc, io);
    // Every document after the first starts with its own `---`, however the input marked it.
    io.stdout.write(docs.map(({ doc }, i) => {
      doc.directives ??= new Document().directives;
      if (doc.directives) doc.directives.docStart = i > 0 ? true : null;
      return doc.toString({ lineWidth: 0 });
    }).join(''));
    return 0;
  },
};
