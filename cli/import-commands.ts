// mailctl's way in: `import imap` copies another server's folders, messages, flags and dates
// into an account (core/migrate/). What each command means; parsing stays in cli/mailctl.ts.
import { StoreError } from '../core/store/types.ts';
import type { ImportTarget } from '../core/migrate/importer.ts';
import type { Command } from './commands.ts';
import { readSecret } from './password.ts';

/** What imports need beyond the directory: blobs, the filing path and the progress records. */
export type MigrationServices = ImportTarget;

/** The run ended with messages left to copy: the summary was printed, the exit code is 1. */
export class ImportIncompleteError extends Error {
  override readonly name = 'ImportIncompleteError';
}

const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)]);

function folderMap(values: string[]): Map<string, string> {
  return new Map(
    values.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0 || at === pair.length - 1) throw new StoreError('invalid', `--map wants SOURCE=TARGET, got '${pair}'`);
      return [pair.slice(0, at), pair.slice(at + 1)] as const;
    }),
  );
}

export const IMPORT_COMMANDS: readonly Command[] = [
  {
    name: 'import imap',
    args: '<source-url> <account>',
    summary:
      'Copy every folder of an IMAP account (imaps://user@host) into an account: bytes, flags, keywords and dates as they are. ' +
      'Resumable: a rerun copies only what is new. The password is asked for unless given by --password-file or --password-env.',
    options: {
      'password-file': { type: 'string', help: 'read the source password from the first line of this file', valueName: 'path' },
      'password-env': { type: 'string', help: 'read the source password from this environment variable', valueName: 'name' },
      password: { type: 'string', help: 'the password (visible to other local users in the process list; prefer the prompt)', valueName: 'secret' },
      include: { type: 'string', multiple: true, help: 'copy only folders matching this glob (* any, % one level; repeatable)', valueName: 'glob' },
      exclude: { type: 'string', multiple: true, help: 'leave out folders matching this glob (repeatable)', valueName: 'glob' },
      map: { type: 'string', multiple: true, help: 'put source folder SRC (and its children) under DST here (repeatable)', valueName: 'SRC=DST' },
      insecure: { type: 'boolean', help: 'allow imap:// without STARTTLS and certificates that do not verify (lab servers only)' },
    },
    minArgs: 2,
    maxArgs: 2,
    async run({ services, out, stdin, stderr, env }, [url, account], values) {
      if (!(await services.directory.getAccount(account!))) throw new StoreError('not-found', `no account ${account}`);
      const rules = { include: list(values.include), exclude: list(values.exclude), map: folderMap(list(values.map)) };
      const [{ openImapSource, parseImapUrl }, { importMessages }, { ImportReport }] = await Promise.all([
        import('../core/migrate/imap-source.ts'),
        import('../core/migrate/importer.ts'),
        import('./import-report.ts'),
      ]);
      const { user } = parseImapUrl(url!);
      const password = await readSecret(
        { password: values.password as string | undefined, file: values['password-file'] as string | undefined, env: values['password-env'] as string | undefined },
        env,
        stdin,
        stderr,
        `Password for ${user} at the source: `,
      );
      const target = await services.migration();
      const source = await openImapSource({ url: url!, password, insecure: values.insecure === true });
      // Ctrl-C stops asking the source for more; what is in flight is filed and the progress
      // saved, so the next run continues. A second Ctrl-C ends the process at once.
      const stop = new AbortController();
      const onInterrupt = () => stop.abort();
      process.once('SIGINT', onInterrupt);
      const report = ImportReport.for(out.stdout, stderr, out.json);
      try {
        const summary = await importMessages(source, target, { account: account!, rules, signal: stop.signal }, report.onEvent);
        report.summary(summary);
        if (summary.failed > 0 || summary.incomplete) {
          const stopped = summary.folders.find((f) => f.error);
          throw new ImportIncompleteError(
            stopped
              ? `import stopped in ${stopped.name}: ${stopped.error}; run it again to continue`
              : stop.signal.aborted
                ? 'import interrupted; run it again to continue'
                : `${summary.failed} messages could not be copied (listed above); run it again to retry them`,
          );
        }
      } finally {
        process.off('SIGINT', onInterrupt);
        await source.close();
      }
    },
  },
];
