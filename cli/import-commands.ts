// mailctl's ways in and out: `import imap|mbox|maildir|eml` copies folders, messages, flags and
// dates into an account, `export mbox|maildir` writes them out again (core/migrate/). What each
// command means; parsing stays in cli/mailctl.ts.
import { StoreError } from '../core/store/types.ts';
import type { FolderRules } from '../core/migrate/folders.ts';
import type { MessageSource } from '../core/migrate/source.ts';
import type { Command, CommandContext } from './command.ts';
import { readSecret } from './password.ts';


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

async function requireAccount(ctx: CommandContext, account: string): Promise<void> {
  if (!(await ctx.services.directory.getAccount(account))) throw new StoreError('not-found', `no account ${account}`);
}

/**
 * Runs an import with its progress report; Ctrl-C stops asking the source for more, what is in
 * flight is filed and the progress saved, so the next run continues (a second Ctrl-C ends the
 * process at once). Throws after the summary when anything is left to copy.
 */
async function runImport(ctx: CommandContext, openSource: () => Promise<MessageSource>, account: string, rules: FolderRules): Promise<void> {
  const [{ importMessages }, { ImportReport }] = await Promise.all([import('../core/migrate/importer.ts'), import('./import-report.ts')]);
  const target = await ctx.services.migration();
  const source = await openSource();
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  process.once('SIGINT', onInterrupt);
  const report = ImportReport.for(ctx.out.stdout, ctx.stderr, ctx.out.json);
  try {
    const summary = await importMessages(source, target, { account, rules, signal: stop.signal }, report.onEvent);
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
}

const EVERY_FOLDER: FolderRules = { include: [], exclude: [], map: new Map() };
const FOLDER_OPTION = { folder: { type: 'string', help: 'the mailbox to import into (default INBOX; with a tree, its root)', valueName: 'name' } } as const;
const folderValue = (values: Record<string, unknown>) => (typeof values.folder === 'string' ? values.folder : undefined);

/** `import mbox|maildir|eml`: the same guarantees as IMAP, from files. */
function fileImport(kind: 'mbox' | 'maildir' | 'eml', args: string, summary: string): Command {
  return {
    name: `import ${kind}`,
    args,
    summary,
    options: FOLDER_OPTION,
    async run(ctx, [path, account], values) {
      await requireAccount(ctx, account!);
      const sources = await import('../core/migrate/file-source.ts');
      const open = { mbox: sources.openMboxSource, maildir: sources.openMaildirSource, eml: sources.openEmlSource }[kind];
      await runImport(ctx, () => open(path!, folderValue(values)), account!, EVERY_FOLDER);
    },
  };
}

function exportCommand(format: 'mbox' | 'maildir', summary: string): Command {
  return {
    name: `export ${format}`,
    args: '<account> <path>',
    summary,
    async run(ctx, [account, path]) {
      await requireAccount(ctx, account!);
      const [{ exportAccount }, target] = await Promise.all([import('../core/migrate/exporter.ts'), ctx.services.migration()]);
      const folders = await exportAccount(target, account!, format, path!, (f) => {
        if (ctx.out.json) ctx.out.line(JSON.stringify({ event: 'folder', ...f }));
        else ctx.out.line(`${f.name}: ${f.messages} messages → ${f.path}`);
      });
      const messages = folders.reduce((n, f) => n + f.messages, 0);
      const bytes = folders.reduce((n, f) => n + f.bytes, 0);
      if (ctx.out.json) ctx.out.line(JSON.stringify({ event: 'summary', folders: folders.length, messages, bytes }));
      else ctx.out.line(`exported ${messages} messages in ${folders.length} mailboxes to ${path}`);
    },
  };
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
    async run(ctx, [url, account], values) {
      await requireAccount(ctx, account!);
      const rules = { include: list(values.include), exclude: list(values.exclude), map: folderMap(list(values.map)) };
      const { openImapSource, parseImapUrl } = await import('../core/migrate/imap-source.ts');
      const { user } = parseImapUrl(url!);
      const password = await readSecret(
        { password: values.password as string | undefined, file: values['password-file'] as string | undefined, env: values['password-env'] as string | undefined },
        ctx.env,
        ctx.stdin,
        ctx.stderr,
        `Password for ${user} at the source: `,
      );
      await runImport(ctx, () => openImapSource({ url: url!, password, insecure: values.insecure === true }), account!, rules);
    },
  },
  fileImport('mbox', '<path> <account>', 'Import an mbox file (mboxrd or mboxcl2) into a mailbox, or a tree of .mbox files as written by export mbox. Flags from Status/X-Status/X-Keywords, dates from the From line.'),
  fileImport('maildir', '<path> <account>', 'Import a Maildir++ tree (INBOX at the root, .A.B as A/B): flags from the :2, suffix, keywords from dovecot-keywords, dates from the file times.'),
  fileImport('eml', '<dir> <account>', 'Import every .eml file of a folder into a mailbox, dated by Received: or Date:.'),
  exportCommand('mbox', 'Write every mailbox of an account as an mbox file (mboxrd; A/B as A/B.mbox) with flags and dates, into a new folder.'),
  exportCommand('maildir', 'Write every mailbox of an account as a Maildir++ tree with flags, keywords and dates, into a new folder.'),
];
