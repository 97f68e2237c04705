// `pullsecret-sync plan`: what the daemon would do, without writing anything. Resources come from -f
// files, else from the snapshot files, else from the cluster; namespaces, pods, Secrets and
// ServiceAccounts from --snapshot files, else from the cluster. With -f and --snapshot it never
// contacts a cluster. Resources named with -f replace the ones of the same name (keeping their identity
// and age, which decide ownership); only they are reported. Exit 1 when any reported resource is invalid.
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { KubeRest } from '../../kube/rest.ts';
import { realClock } from '../../util/clock.ts';
import { errorMessage } from '../../util/errors.ts';
import { ConfigError, optionLines, parseCommandArgs, strings, type Options } from '../args.ts';
import { printHelp, type Command, type Io } from '../command.ts';
import { readDocuments } from '../documents.ts';
import { computePlan, DEFAULT_DAEMON_NAMESPACE } from './model.ts';
import { FORMATS, render, type Format } from './output.ts';
import { buildWorld, emptyParts, partsFromCluster, partsFromObjects, podsFromCluster, secretsFromCluster, type WorldParts } from './world.ts';
import { isImagePullSecret } from '../../api/v1alpha1/resource-check.ts';
import { commandKubeConfig } from '../kube-access.ts';
import { KUBECONFIG_DEFAULT } from '../../kube/kubeconfig.ts';

const options: Options = {
  file: { type: 'string', short: 'f', multiple: true, value: 'FILE', help: 'ImagePullSecrets to plan ("-" for stdin); default: those of the snapshot or cluster' },
  snapshot: { type: 'string', multiple: true, value: 'FILE', help: 'cluster snapshot, e.g. kubectl get ns,pods,secrets,sa -A -o yaml; default: the cluster' },
  kubeconfig: { type: 'string', value: 'FILE', help: `kubeconfig file or path list; default: ${KUBECONFIG_DEFAULT}` },
  context: { type: 'string', value: 'NAME', help: 'kubeconfig context' },
  output: { type: 'string', short: 'o', value: 'FORMAT', help: 'table (default), json or yaml' },
  'adopt-imps-secrets': { type: 'boolean', help: 'plan as the daemon run with --adopt-imps-secrets: IMPS\'s Secrets for a resource of the same name are updated, not conflicts' },
  'daemon-namespace': { type: 'string', value: 'NAME', help: `the daemon's namespace, whose pods never get an entry at admission; default: ${DEFAULT_DAEMON_NAMESPACE}` },
};

function usage(): string {
  return [
    'usage: pullsecret-sync plan [-f FILE...] [--snapshot FILE...] [--kubeconfig FILE] [--context NAME] [-o table|json|yaml]',
    '                            [--adopt-imps-secrets] [--daemon-namespace NAME]',
    '',
    'Shows what the daemon would do, writing nothing: for each ImagePullSecret the namespaces it selects,',
    'by which rules, and the action on its Secret there (create, update, unchanged, or conflict and with',
    'whom); the Secrets it would remove; the registries each source gives and which are shadowed; the',
    'ServiceAccounts it would patch; with spec.target.pods.inject, the existing pods that lack the entry (a',
    'pod admitted already cannot change: each would get it when created again); and validation errors.',
    'Cloud sources are listed by registry without fetching tokens. Exits 1 when a resource is invalid.',
    'With -f and --snapshot no cluster is contacted.',
    '',
    'flags:',
    ...optionLines(options),
  ].join('\n');
}

/** `-f` resources over the base ones: same name keeps the stored identity and age; new ones are the youngest. */
function overlay(base: ImagePullSecret[], files: ImagePullSecret[], now: Date): ImagePullSecret[] {
  const byName = new Map(base.map((r) => [r.metadata.name, r]));
  for (const f of files) {
    const stored = byName.get(f.metadata.name);
    byName.set(f.metadata.name, { ...f, metadata: { ...f.metadata,
      uid: stored?.metadata.uid ?? f.metadata.uid ?? '', creationTimestamp: stored?.metadata.creationTimestamp ?? f.metadata.creationTimestamp ?? now.toISOString() } });
  }
  return [...byName.values()];
}

/** The client of the cluster `plan` reads, from --kubeconfig (else KUBECONFIG) and --context. */
async function clusterClient(values: Record<string, unknown>, io: Io): Promise<KubeRest> {
  return new KubeRest(await commandKubeConfig('plan', { kubeconfig: (values.kubeconfig as string | undefined) ?? io.env.KUBECONFIG, context: values.context as string | undefined }));
}

async function worldParts(files: string[], snapshots: string[], values: Record<string, unknown>, io: Io): Promise<{ parts: WorldParts; subjects?: string[] }> {
  const read = await readDocuments([...files, ...snapshots], io.stdin);
  if (read.problems.length) throw new ConfigError(read.problems.join('\n'));
  const fromFiles = read.documents.filter((d) => files.includes(d.file) || (d.file === '<stdin>' && files.includes('-')));
  const given = fromFiles.filter((d) => isImagePullSecret(d.object)).map((d) => d.object as unknown as ImagePullSecret);
  const snapshot = partsFromObjects(read.documents.filter((d) => !fromFiles.includes(d)).map((d) => d.object));
  const needResources = files.length === 0 && snapshot.resources.length === 0;
  const needObjects = snapshots.length === 0;
  let cluster = emptyParts();
  const rest = needResources || needObjects ? await clusterClient(values, io) : undefined;
  try {
    if (rest) cluster = await partsFromCluster(rest, { resources: needResources || (needObjects && files.length > 0), objects: needObjects });
    const parts = needObjects ? cluster : snapshot;
    const base = snapshot.resources.length ? snapshot.resources : cluster.resources;
    parts.resources = files.length ? overlay(base, given, realClock.now()) : base;
    if (rest && needObjects) [parts.pods, parts.secrets] = await Promise.all([podsFromCluster(rest, parts.resources), secretsFromCluster(rest, parts.resources)]);
    return files.length ? { parts, subjects: given.map((g) => g.metadata.name) } : { parts };
  } finally {
    rest?.close();
  }
}

export const planCommand: Command = {
  summary: 'show what the daemon would do, writing nothing',
  usage,
  main: async (args, io) => {
    const parsed = parseCommandArgs('plan', options, args, false);
    if (parsed.help) return printHelp(planCommand, io);
    const format = (parsed.values.output ?? 'table') as Format;
    if (!FORMATS.includes(format)) throw new ConfigError(`plan: -o must be one of ${FORMATS.join(', ')}; got "${format}" (see pullsecret-sync plan --help)`);
    let world;
    try {
      world = await worldParts(strings(parsed.values.file), strings(parsed.values.snapshot), parsed.values, io);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      io.stderr.write(`pullsecret-sync: plan: ${errorMessage(err)}\n`);
      return 1;
    }
    const plan = computePlan(buildWorld(world.parts), world.subjects, { adoptImpsSecrets: parsed.values['adopt-imps-secrets'] === true,
      daemonNamespace: (parsed.values['daemon-namespace'] as string | undefined) ?? DEFAULT_DAEMON_NAMESPACE });
    io.stdout.write(render(plan, format));
    return plan.resources.every((r) => r.valid) ? 0 : 1;
  },
};
