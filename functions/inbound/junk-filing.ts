// Where one filed copy goes, INBOX or the account's Junk: the one place that decides it
// (docs/decisions/0015-junk-filter.md, 0026-one-quarantine-path.md). The edge's DMARC quarantine,
// then the junk filter's verdict, recorded so a redelivery files the same way; Junk is the
// mailbox of special use \Junk (RFC 6154) whatever the user named it, and INBOX when there is none.
import type { InboundEvent } from '../../core/contracts.ts';
import { describeError } from '../../core/errors.ts';
import { JUNK_KEYWORD, type JunkFilter, type JunkVerdict, type MessageToJudge } from '../../core/junk/filter.ts';
import { spamHeaderPrefix } from '../../core/junk/spam-header.ts';
import type { JunkModelStore } from '../../core/store/junk-model.ts';
import type { FileRequest } from '../../core/store/types.ts';
import type { FunctionLogger } from '../queue-record.ts';

export interface JunkFiling {
  readonly filter: JunkFilter;
  readonly verdicts: Pick<JunkModelStore, 'recordVerdict'>;
}

export type JunkMetric = 'JunkFiled' | 'JunkFilterFailures';

/** Where one copy is filed: the fields of its FileRequest that the verdict decides. */
export type CopyDestination = Pick<FileRequest, 'mailbox' | 'specialUse' | 'flags' | 'headerPrefix'>;

const INBOX: CopyDestination = { mailbox: 'INBOX', flags: [] };

/**
 * The message's judge for this event, or null when one of our own users sent it (authenticated
 * submission is not inbound mail: it files into INBOX unjudged).
 */
export function judgeFor(junk: JunkFiling, raw: Buffer, event: InboundEvent): MessageToJudge | null {
  return event.authenticatedUser ? null : junk.filter.message(raw);
}

/**
 * The edge's DMARC outcome (RFC 7489 §6.3 p=quarantine, or a forgery of our own domains the
 * domain's policy quarantines; docs/decisions/0014-inbound-authentication.md): junk whatever the
 * account's model says, and without reading it, so a model that cannot be read does not undo it.
 */
function quarantineVerdict(event: InboundEvent, judge: MessageToJudge): JunkVerdict | null {
  if (event.authentication?.quarantine !== true) return null;
  return { junk: true, score: 1, source: 'rules', reasons: ['quarantine', ...judge.rules.reasons] };
}

/**
 * Junk (the `$Junk` keyword, and the verdict as the copy's own X-Spam-* header lines) or INBOX.
 * Junk is the account's \Junk mailbox, found by the store with the INBOX lookup; an account
 * that deleted it gets its junk in INBOX, marked the same: the user's delete stands, and the
 * keyword and header let the client's own junk controls and filters act on it. The filter fails
 * open: an error judging files into INBOX, logged and counted, so a broken model never holds
 * mail back; mail is never deleted.
 */
export async function copyDestination(
  junk: JunkFiling,
  judge: MessageToJudge | null,
  event: InboundEvent,
  account: string,
  telemetry: { readonly logger: FunctionLogger; readonly metrics: { addMetric(name: JunkMetric, unit: 'Count', value: number): unknown } },
): Promise<CopyDestination> {
  if (!judge) return INBOX;
  let verdict: JunkVerdict;
  try {
    verdict = quarantineVerdict(event, judge) ?? (await judge.judge(account));
    // The rules read only the blob and the event, so a redelivery judges the same: only the
    // classifier's verdict, which training can change in between, needs recording.
    if (verdict.source === 'classifier') {
      verdict = { ...verdict, ...(await junk.verdicts.recordVerdict(event.id, account, { junk: verdict.junk, score: verdict.score })) };
    }
  } catch (err) {
    telemetry.metrics.addMetric('JunkFilterFailures', 'Count', 1);
    telemetry.logger.error('junk filter failed; filing into INBOX', { inboundId: event.id, account, error: describeError(err) });
    return INBOX;
  }
  if (!verdict.junk) return INBOX;
  telemetry.metrics.addMetric('JunkFiled', 'Count', 1);
  telemetry.logger.info('junk verdict', {
    inboundId: event.id, account, score: Number(verdict.score.toFixed(3)), source: verdict.source, reasons: verdict.reasons,
  });
  return {
    mailbox: 'INBOX',
    specialUse: '\\Junk',
    flags: [JUNK_KEYWORD],
    headerPrefix: spamHeaderPrefix(verdict, junk.filter.ourHost),
  };
}
