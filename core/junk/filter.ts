// The junk verdict where mail is filed and the training where users sort it: the account's model
// when it has seen enough of both classes, the rules of core/junk/signals.ts always.
// docs/decisions/0015-junk-filter.md says why each number is what it is.
import { prefixOctets } from '../header-prefix.ts';
import type { JunkModelStore } from '../store/junk-model.ts';
import { classify, isTrained, JUNK_THRESHOLD, trainModel, type JunkClass } from './classifier.ts';
import { authenticationSignals, authenticationTokens, RULE_JUNK_SCORE, ruleVerdict, type RuleVerdict } from './signals.ts';
import { tokenizeMessage, TOKENIZE_PREFIX_BYTES } from './tokenize.ts';

/** The keyword a message judged or sorted as junk carries (the IMAP keyword clients know, RFC 9051 §2.3.2 and the IANA registry). */
export const JUNK_KEYWORD = '$Junk';
/** The keyword of a message the user said is not junk. */
export const NOT_JUNK_KEYWORD = '$NotJunk';

export interface JunkVerdict {
  readonly junk: boolean;
  /** 0 (clean) to 1 (junk): the classifier's probability once the account is trained, else the rules' score. */
  readonly score: number;
  readonly source: 'classifier' | 'rules';
  readonly reasons: string[];
}

/** One inbound message, judged for each account it reaches: authentication read once, tokens made once (only if some account is trained). */
export interface MessageToJudge {
  /** What the rules alone say of the message, the same for every account. */
  readonly rules: RuleVerdict;
  judge(account: string): Promise<JunkVerdict>;
}

export class JunkFilter {
  constructor(
    private readonly models: Pick<JunkModelStore, 'load'>,
    /** Our host name: the authserv-id of the Authentication-Results our edge writes (RFC 8601 §2.5), and the name in our X-Spam-Score. */
    readonly ourHost: string,
  ) {}

  message(raw: Buffer): MessageToJudge {
    const signals = authenticationSignals(raw, this.ourHost);
    const rules = ruleVerdict(raw, signals);
    let tokens: Promise<Set<string>> | undefined;
    return {
      rules,
      judge: async (account) => {
        const stored = await this.models.load(account);
        const rulesSay = rules.score >= RULE_JUNK_SCORE;
        if (!stored || !isTrained(stored.model)) {
          return { junk: rulesSay, score: rules.score, source: 'rules', reasons: rules.reasons };
        }
        tokens ??= tokenizeMessage(raw, authenticationTokens(signals));
        const bayes = classify(stored.model, await tokens);
        const junk = bayes.probability >= JUNK_THRESHOLD || rulesSay;
        const reasons = [`classifier ${bayes.probability.toFixed(3)} over ${bayes.used} tokens`, ...rules.reasons];
        return { junk, score: bayes.probability, source: 'classifier', reasons };
      },
    };
  }
}

/** A message to train with: its blob (every copy of a message counts once) and size. */
export interface TrainingMessage {
  readonly blobKey: string;
  readonly size: number;
  /** The copy's own header lines (our X-Spam-* verdict): not part of the blob, and never a lesson. */
  readonly headerPrefix?: string | null;
}

/** What one training did: how many messages were taught a new class, and how many were so already. */
export interface TrainingOutcome {
  readonly changed: number;
  readonly unchanged: number;
}

export class JunkTrainer {
  constructor(
    private readonly models: Pick<JunkModelStore, 'update' | 'trainedAs' | 'setTrainedAs'>,
    private readonly blobs: { getRange(key: string, start: number, end: number): Promise<Buffer> },
    private readonly ourHost: string,
  ) {}

  /**
   * Teaches the account that `messages` are `cls`, in one update of its model. A message taught
   * the other class before is untaught from it first: sorting a message back undoes the earlier
   * lesson instead of counting both. `cls` null forgets the lesson of messages taught `forget`
   * (a `$Junk` keyword taken off again), and leaves the others alone.
   */
  async train(account: string, messages: readonly TrainingMessage[], cls: JunkClass | null, forget: JunkClass | null = null): Promise<TrainingOutcome> {
    const lessons: Array<{ readonly message: TrainingMessage; readonly before: JunkClass | null; readonly tokens: Set<string> }> = [];
    const seen = new Set<string>();
    let unchanged = 0;
    for (const message of messages) {
      if (seen.has(message.blobKey)) continue;
      seen.add(message.blobKey);
      const before = await this.models.trainedAs(account, message.blobKey);
      if (before === cls || (cls === null && before !== forget)) {
        unchanged++;
        continue;
      }
      // The blob alone: our own verdict header would teach the filter what it already said.
      const raw = await this.blobs.getRange(message.blobKey, 0, Math.min(message.size - prefixOctets(message), TOKENIZE_PREFIX_BYTES));
      lessons.push({ message, before, tokens: await tokenizeMessage(raw, authenticationTokens(authenticationSignals(raw, this.ourHost))) });
    }
    if (lessons.length === 0) return { changed: 0, unchanged };
    await this.models.update(account, (model) => {
      for (const { before, tokens } of lessons) {
        if (before) trainModel(model, tokens, before, -1);
        if (cls) trainModel(model, tokens, cls, 1);
      }
    });
    for (const { message } of lessons) await this.models.setTrainedAs(account, message.blobKey, cls);
    return { changed: lessons.length, unchanged };
  }
}
