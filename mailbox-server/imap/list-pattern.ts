// LIST/LSUB mailbox patterns (RFC 3501 §6.3.8): "*" matches any characters, "%" any but the
// hierarchy delimiter. Matched by simulating the pattern's automaton over the name, one character
// at a time, so the cost is bounded by name length × pattern length whatever the client sends
// (a backtracking regular expression is exponential in the number of wildcards).
import { DELIMITER } from '../../core/store/mailbox-names.ts';

/** One step of a compiled pattern: a literal character, or a run of wildcards collapsed to one. */
type PatternStep = { readonly kind: 'char'; readonly char: string } | { readonly kind: 'any' } | { readonly kind: 'level' };

export class MailboxPattern {
  // Scratch space for `matches`, allocated once per pattern (LIST tests thousands of names).
  private active: Int32Array;
  private next: Int32Array;
  private readonly stamp: Int32Array;

  private constructor(
    private readonly steps: readonly PatternStep[],
    /** Each literal step consumes one character: a shorter name cannot match. */
    private readonly literalCount: number,
  ) {
    this.active = new Int32Array(steps.length + 1);
    this.next = new Int32Array(steps.length + 1);
    this.stamp = new Int32Array(steps.length + 1);
  }

  /**
   * The pattern as LIST sees it: the reference joined to the pattern (RFC 3501 §6.3.8), with a
   * leading INBOX of any case made canonical, since INBOX is case-insensitive (§5.1).
   */
  static compile(reference: string, pattern: string): MailboxPattern {
    let full = pattern.startsWith(DELIMITER) && reference.endsWith(DELIMITER) ? reference + pattern.slice(1) : reference + pattern;
    if (/^inbox(\/|$)/i.test(full)) full = 'INBOX' + full.slice(5);
    const steps: PatternStep[] = [];
    let literalCount = 0;
    // UTF-16 units, as names are read: wire names are ASCII (modified UTF-7) anyway.
    for (const char of full.split('')) {
      if (char === '*' || char === '%') {
        // A run of wildcards matches what its widest member matches: "*" if it has one, else "%".
        const last = steps[steps.length - 1];
        const kind = char === '*' ? 'any' : 'level';
        if (last?.kind === 'any') continue;
        if (last?.kind === 'level') steps[steps.length - 1] = { kind };
        else steps.push({ kind });
        continue;
      }
      steps.push({ kind: 'char', char });
      literalCount += 1;
    }
    return new MailboxPattern(steps, literalCount);
  }

  matches(name: string): boolean {
    if (name.length < this.literalCount) return false;
    const steps = this.steps;
    const end = steps.length;
    // The states reached so far, deduplicated per character by stamping them with its position.
    // State i: steps [0, i) have matched the characters read so far.
    let active = this.active;
    let next = this.next;
    const stamp = this.stamp.fill(-2);
    let count = this.reach(active, 0, 0, stamp, -1);
    for (let at = 0; at < name.length; at++) {
      const char = name[at]!;
      let reached = 0;
      for (let k = 0; k < count; k++) {
        const state = active[k]!;
        if (state === end) continue;
        const step = steps[state]!;
        if (step.kind === 'char') {
          if (step.char === char) reached = this.reach(next, reached, state + 1, stamp, at);
        } else if (step.kind === 'any' || char !== DELIMITER) {
          reached = this.reach(next, reached, state, stamp, at);
        }
      }
      if (reached === 0) return false;
      [active, next] = [next, active];
      count = reached;
    }
    [this.active, this.next] = [active, next];
    for (let k = 0; k < count; k++) if (active[k] === end) return true;
    return false;
  }

  /** Adds `state` to `into` (after `count` entries), and the step after it if it is a wildcard, which also matches nothing. */
  private reach(into: Int32Array, count: number, state: number, stamp: Int32Array, at: number): number {
    for (let i = state; i < into.length; i++) {
      if (stamp[i] === at) return count;
      stamp[i] = at;
      into[count++] = i;
      if (i === this.steps.length || this.steps[i]!.kind === 'char') return count;
    }
    return count;
  }
}
