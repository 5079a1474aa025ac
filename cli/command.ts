// What a mailctl command is and what it is given: the services it acts on and its output. The
// command tables (cli/commands.ts, cli/outbound-commands.ts, cli/import-commands.ts) all build on
// this file, and none of them on another.
import type { Readable, Writable } from 'node:stream';
import type { ParseArgsOptionDescriptor } from 'node:util';
import type { OutboundEvent } from '../core/contracts.ts';
import type { DkimKey } from '../core/dkim.ts';
import type { ImportTarget } from '../core/migrate/importer.ts';
import type { OutboundQueueStore } from '../core/outbound/queue-store.ts';
import type { Directory, MailStore } from '../core/store/types.ts';
import type { Output } from './output.ts';

export interface OutboundServices {
  readonly records: Pick<OutboundQueueStore, 'get' | 'list' | 'advance' | 'cancel'>;
  readonly dkimKeys: { put(key: DkimKey, options?: { replace?: boolean }): Promise<void>; get(domain: string): Promise<DkimKey | null>; list(): Promise<DkimKey[]> };
  /** Puts a copy of the event on the outbound queue now. */
  requeue(event: OutboundEvent): Promise<void>;
  /** Drops the blob reference a cancelled delivery held (core/outbound/enqueue.ts). */
  releaseBlob(blobKey: string): Promise<void>;
}

/** What imports need beyond the directory: blobs, the filing path and the progress records. */
export type MigrationServices = ImportTarget & { readonly blobs: ImportTarget['blobs'] & { getBuffer(key: string): Promise<Buffer> } };

export interface Services {
  readonly directory: Directory;
  readonly mailStore: MailStore;
  /** The relay's queue records and DKIM keys (cli/outbound-commands.ts). */
  readonly outbound: OutboundServices;
  /** Blobs, filing and import progress for import and export, built on first use (S3 is loaded then). */
  migration(): Promise<MigrationServices>;
}

export interface CommandContext {
  readonly services: Services;
  readonly out: Output;
  readonly stdin: Readable;
  readonly stderr: Writable;
  readonly env: Record<string, string | undefined>;
}

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** How many positional arguments a command's `args` admits: one per `<word>`, up to one more per `[word]`, any number more after a `...`. */
export function arityOf(args: string): { readonly min: number; readonly max: number } {
  const words = args.split(/\s+/).filter(Boolean);
  return { min: words.filter((w) => w.startsWith('<')).length, max: words.some((w) => w.endsWith('...')) ? Infinity : words.length };
}

export interface Command {
  /** `group action`, as typed. */
  readonly name: string;
  /** Positional arguments, `<required>` and `[optional]`, `...` for a list: the usage shown and the count checked (arityOf). */
  readonly args: string;
  readonly summary: string;
  readonly options?: Record<string, ParseArgsOptionDescriptor & { readonly help: string; readonly valueName?: string }>;
  /** Lists accept --json; changes print their result with it too. */
  run(ctx: CommandContext, args: string[], values: OptionValues): Promise<void>;
}

/** A mistake in how mailctl was called: exit code 2, with a pointer to --help. */
export class UsageError extends Error {}
