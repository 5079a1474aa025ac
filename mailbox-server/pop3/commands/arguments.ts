// Argument checks shared by the commands (RFC 1939 §3: keyword, then arguments separated by
// single spaces); a syntax error counts towards the session's bad-command limit.
import { Pop3Error } from '../wire/responses.ts';

/** A malformed command, as opposed to a well-formed one that cannot be done. */
export class Pop3SyntaxError extends Pop3Error {}

export function expectArgs(args: readonly string[], min: number, max: number): void {
  if (args.length < min || args.length > max) throw new Pop3SyntaxError(min === max && min === 0 ? 'No arguments allowed' : 'Wrong number of arguments');
}

/** RFC 1939 §7 TOP: the line count is a non-negative decimal number. */
export function lineCount(arg: string): number {
  if (!/^[0-9]{1,10}$/.test(arg)) throw new Pop3SyntaxError('Invalid line count');
  return Number(arg);
}
