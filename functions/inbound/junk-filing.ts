// Where the junk filter decides between INBOX and the account's Junk mailbox for one filed copy
// (docs/decisions/0015-junk-filter.md): the verdict, recorded so a redelivery files the same way,
// and the mailbox of special use \Junk (RFC 6154) whatever the user named it.
import type { InboundEvent } from '../../core/contracts.ts';
import { describeError } from '../../core/errors.ts';
import { JUNK_KEYWORD, type JunkFilter, type MessageToJudge } from '../../core/junk/filter.ts';
import { spamHeaderPrefix } from '../../core/junk/spam-header.ts';
import type { JunkModelStore } from '../../core/store/junk-model.ts';
import { findSpecialUseMailbox } from '../../core/store/special-use.ts';
import type { MailStore } from '../../core/store/types.ts';
import type { FunctionLogger } from '../queue-record.ts';

export interface JunkFiling {
  readonly filter: JunkFilter;
  readonly verdicts: Pick<JunkModelStore, 'recordVerdict'>;
  readonly mailboxes: Pick<MailStore, 'listMailboxes'>;
}

export type JunkMetric = 'JunkFiled' | 'JunkFilterFailures';

export interface CopyDestination {
  readonly mailbox: string;
  readonly flags: string[];
  /** Header lines this copy alone is served with (core/junk/spam-header.ts), for a copy judged junk. */
  readonly headerPrefix?: string;
}

/** The edge's DMARC policy outcome, when the edge recorded one on the event (p=quarantine asks for Junk). */
function quarantined(event: InboundEvent): boolean {
  return event.authentication?.quarantine === true;
}

/**
 * The message's judge for this event, or null when no filter is configured or one of our own
 * users sent it (authenticated submission is not inbound mail: it files into INBOX unjudged).
 */
export function judgeFor(junk: JunkFiling | undefined, raw: Buffer, event: InboundEvent): MessageToJudge | null {
  if (!junk || event.authenticatedUser) return null;
  return junk.filter.message(raw, { quarantine: quarantined(event) });
}

/**
 * Junk (with the `$Junk` keyword) or INBOX. The filter fails open: an error judging files into
 * INBOX, logged and counted, so a broken model never holds mail back; mail is never deleted.
 */
export async function copyDestination(
  junk: JunkFiling,
  judge: MessageToJudge,
  event: InboundEvent,
  account: string,
  telemetry: { readonly logger: FunctionLogger; readonly metrics: { addMetric(name: JunkMetric, unit: 'Count', value: number): unknown } },
): Promise<CopyDestination> {
  const inbox = { mailbox: 'INBOX', flags: [] };
  try {
    const verdict = await judge.judge(account);
    // The rules read only the blob and the event, so a redelivery judges the same: only the
    // classifier's verdict, which training can change in between, needs recording.
    const recorded = verdict.source === 'classifier'
      ? await junk.verdicts.recordVerdict(event.id, account, { junk: verdict.junk, score: verdict.score })
      : verdict;
    if (!recorded.junk) return inbox;
    const junkBox = await findSpecialUseMailbox(junk.mailboxes, account, '\\Junk');
    telemetry.metrics.addMetric('JunkFiled', 'Count', 1);
    telemetry.logger.info('junk verdict', {
      inboundId: event.id, account, score: Number(recorded.score.toFixed(3)), source: verdict.source, reasons: verdict.reasons,
      mailbox: junkBox?.name ?? 'INBOX',
    });
    // An account without a \Junk mailbox (deleted by the user) keeps its junk in INBOX, marked.
    const headerPrefix = spamHeaderPrefix({ score: recorded.score, source: verdict.source, reasons: verdict.reasons }, junk.filter.ourHost);
    return { mailbox: junkBox?.name ?? 'INBOX', flags: [JUNK_KEYWORD], headerPrefix };
  } catch (err) {
    telemetry.metrics.addMetric('JunkFilterFailures', 'Count', 1);
    telemetry.logger.error('junk filter failed; filing into INBOX', { inboundId: event.id, account, error: describeError(err) });
    return inbox;
  }
}
