// Teaching the junk filter from what the user does over IMAP (docs/decisions/0015-junk-filter.md):
// COPY or MOVE into the \Junk mailbox (RFC 6154) or STORE +FLAGS $Junk teaches spam; MOVE out of
// Junk (not to Trash) or STORE +FLAGS $NotJunk teaches ham. The training runs after the command's
// reply, one account at a time; a failure is logged, never thrown at the client.
import { JUNK_KEYWORD, NOT_JUNK_KEYWORD, type JunkTrainer } from '../../core/junk/filter.ts';
import type { JunkClass } from '../../core/junk/classifier.ts';
import type { ServiceLog } from '../../core/log.ts';
import { KeyedSerialiser } from '../../core/store/keyed-serialiser.ts';
import type { FlagChange, Mailbox, MessageStore } from '../../core/store/types.ts';
import { describeError } from '../../core/errors.ts';

/** Messages one command trains with; a client sorting a whole folder at once trains with the first ones only. */
export const MAX_TRAINING_MESSAGES_PER_COMMAND = 500;

const isJunk = (m: Mailbox) => m.specialUse === '\\Junk';

export class ImapJunkTraining {
  private readonly perAccount = new KeyedSerialiser();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly trainer: Pick<JunkTrainer, 'train'>,
    private readonly store: Pick<MessageStore, 'getMessages' | 'setFlags'>,
    private readonly log: ServiceLog,
  ) {}

  /**
   * After COPY or MOVE (`moved`) of `pairs` (source UID, new UID) from `source` to `target`. The
   * new copies get the keyword of their class, so every client shows what the filter was taught.
   */
  afterCopy(account: string, source: Mailbox, target: Mailbox, pairs: ReadonlyArray<readonly [number, number]>, moved: boolean): void {
    let cls: JunkClass | null = null;
    if (isJunk(target) && !isJunk(source)) cls = 'spam';
    else if (moved && isJunk(source) && !isJunk(target) && target.specialUse !== '\\Trash') cls = 'ham';
    if (!cls || pairs.length === 0) return;
    const uids = pairs.slice(0, MAX_TRAINING_MESSAGES_PER_COMMAND).map(([, to]) => to);
    const [add, remove] = cls === 'spam' ? [JUNK_KEYWORD, NOT_JUNK_KEYWORD] : [NOT_JUNK_KEYWORD, JUNK_KEYWORD];
    this.schedule(account, cls, moved ? 'move' : 'copy', pairs.length, async () => {
      const outcome = await this.trainWith(account, target.id, uids, cls);
      await this.store.setFlags(account, target.id, uids, { op: 'remove', flags: [remove] });
      await this.store.setFlags(account, target.id, uids, { op: 'add', flags: [add] });
      return outcome;
    });
  }

  /** After STORE of `change` on `uids` of `mailbox`: only `$Junk` and `$NotJunk` teach anything. */
  afterStore(account: string, mailbox: Mailbox, change: FlagChange, uids: readonly number[]): void {
    const junk = change.flags.includes(JUNK_KEYWORD);
    const notJunk = change.flags.includes(NOT_JUNK_KEYWORD);
    if (junk === notJunk || uids.length === 0) return;
    const some = uids.slice(0, MAX_TRAINING_MESSAGES_PER_COMMAND);
    if (change.op === 'remove') {
      // Taking the keyword off takes back what it taught, and teaches nothing else.
      const forget: JunkClass = junk ? 'spam' : 'ham';
      this.schedule(account, null, 'store', uids.length, () => this.trainWith(account, mailbox.id, some, null, forget));
    } else {
      const cls: JunkClass = junk ? 'spam' : 'ham';
      this.schedule(account, cls, 'store', uids.length, () => this.trainWith(account, mailbox.id, some, cls));
    }
  }

  /** Resolves when every training scheduled so far has finished (tests; shutdown). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async trainWith(account: string, mailboxId: string, uids: readonly number[], cls: JunkClass | null, forget: JunkClass | null = null) {
    const messages = await this.store.getMessages(mailboxId, uids);
    return this.trainer.train(account, messages.filter((m) => !m.expunged), cls, forget);
  }

  private schedule(account: string, cls: JunkClass | null, via: string, count: number, task: () => Promise<{ changed: number; unchanged: number }>): void {
    const run = this.perAccount
      .run(account, task)
      .then(
        (outcome) => {
          if (count > MAX_TRAINING_MESSAGES_PER_COMMAND) this.log.warn('imap.junk-training-capped', { account, via, messages: count, trained: MAX_TRAINING_MESSAGES_PER_COMMAND });
          this.log.info('imap.junk-training', { account, via, class: cls ?? 'forget', changed: outcome.changed, unchanged: outcome.unchanged });
        },
        (err: unknown) => this.log.error('imap.junk-training-failed', { account, via, class: cls ?? 'forget', messages: count, error: describeError(err) }),
      )
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }
}
