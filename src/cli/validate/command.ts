// `pullsecret-sync validate FILE…`: checks every ImagePullSecret in the files (multi-document YAML or
// JSON, `-` for stdin) against what the API server enforces for the CRD and what the daemon validates,
// printing one line per problem, `FILE: ImagePullSecret/NAME: spec.path: message`. Exit 1 on any problem.
// Documents of other kinds pass unchecked, so a whole manifest directory can be fed to it in CI.
import { ConfigError, optionLines, parseCommandArgs, type Options } from '../args.ts';
import { printHelp, type Command } from '../command.ts';
import { readDocuments } from '../documents.ts';
import { checkResource, isImagePullSecret, nameOf } from '../../api/v1alpha1/resource-check.ts';

const options: Options = {};

function usage(): string {
  return [
    'usage: pullsecret-sync validate FILE... ("-" reads stdin)',
    '',
    'Checks every ImagePullSecret in the files (multi-document YAML or JSON, or kubectl List output)',
    'against the CRD\'s schema and CEL rules, as the API server enforces them, and against the daemon\'s own',
    'validation. Prints one line per problem, FILE: ImagePullSecret/NAME: spec.path: message, and exits',
    '1 on any problem, 0 when every resource is valid. Documents of other kinds are skipped.',
    '',
    'flags:',
    ...optionLines(options),
  ].join('\n');
}

export const validateCommand: Command = {
  summary: 'check ImagePullSecret files as the API server and the daemon would',
  usage,
  main: async (args, io) => {
    const parsed = parseCommandArgs('validate', options, args);
    if (parsed.help) return printHelp(validateCommand, io);
    if (parsed.positionals.length === 0) throw new ConfigError('validate: name at least one FILE ("-" for stdin) (see pullsecret-sync validate --help)');
    const read = await readDocuments(parsed.positionals, io.stdin);
    for (const line of read.problems) io.stdout.write(`${line}\n`);
    let problems = read.problems.length;
    let checked = 0;
    for (const doc of read.documents.filter((d) => isImagePullSecret(d.object))) {
      checked++;
      for (const p of checkResource(doc.object)) {
        problems++;
        io.stdout.write(`${doc.file}: ImagePullSecret/${nameOf(doc.object)}: ${p.path}: ${p.message}\n`);
      }
    }
    io.stderr.write(`${String(checked)} ImagePullSecret(s) checked, ${String(problems)} problem(s)\n`);
    return problems ? 1 : 0;
  },
};
