// Finding an account's mailbox by its RFC 6154 special use (\Junk, \Trash, ...) rather than by
// name: users rename them, and imports bring other names (core/migrate/folders.ts).
import type { MailStore, Mailbox, SpecialUse } from './types.ts';

/**
 * The account's mailbox marked `use` (the first by name if several are), or null: one
 * listMailboxes (a single Query of the account's partition).
 */
export async function findSpecialUseMailbox(store: Pick<MailStore, 'listMailboxes'>, account: string, use: SpecialUse): Promise<Mailbox | null> {
  const mailboxes = await store.listMailboxes(account);
  return mailboxes.find((m) => m.specialUse === use) ?? null;
}
