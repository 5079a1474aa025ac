// A per-account naive Bayes junk classifier (Graham's "A Plan for Spam" with Robinson's
// smoothing, as mox's junk filter): token counts per class, a bounded table, a compact encoding.
// See docs/decisions/0015-junk-filter.md for the numbers.

export type JunkClass = 'spam' | 'ham';

/** Tokens a model keeps; past it the rarest go (pruneModel). Keeps the encoded model under 300 KB. */
export const MAX_MODEL_TOKENS = 30_000;
/** What pruning brings the table down to, so it does not run on every training past the cap. */
export const PRUNED_MODEL_TOKENS = 27_000;
/** Trained messages of each class before the classifier's verdict is used (below it: rules only). */
export const MIN_TRAINED_PER_CLASS = 25;
/** Probability at and above which a message is junk. */
export const JUNK_THRESHOLD = 0.9;
/** Tokens whose probability is furthest from ½ that make the verdict. */
const TOP_TOKENS = 25;
/** Tokens nearer ½ than this say nothing and are skipped. */
const IGNORE_BAND = 0.1;
/** Robinson's smoothing: the weight (in messages) of the ½ prior against a token's own counts. */
const PRIOR_STRENGTH = 1;
/** Counts saturate here (three varint bytes), which bounds the encoding. */
const MAX_COUNT = (1 << 21) - 1;

/** Token counts of one account: `tokens` maps a token's 32-bit hash to [ham, spam] message counts. */
export interface JunkModel {
  ham: number;
  spam: number;
  readonly tokens: Map<number, [number, number]>;
}

export const emptyModel = (): JunkModel => ({ ham: 0, spam: 0, tokens: new Map() });

/** FNV-1a over the token's UTF-8: four bytes per token instead of the word, collisions negligible at 30 000 tokens. */
export function tokenHash(token: string): number {
  let h = 0x811c9dc5;
  // ASCII (most tokens) hashes from its char codes; anything else through its UTF-8 bytes.
  const bytes: ArrayLike<number> = /^[\x00-\x7f]*$/.test(token) ? { length: token.length } : Buffer.from(token, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    h ^= Buffer.isBuffer(bytes) ? bytes[i]! : token.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Adds (`delta` 1) or takes back (-1) one message of `cls` with these tokens. */
export function trainModel(model: JunkModel, tokens: Iterable<string>, cls: JunkClass, delta: 1 | -1): void {
  const slot = cls === 'ham' ? 0 : 1;
  if (cls === 'ham') model.ham = Math.max(0, model.ham + delta);
  else model.spam = Math.max(0, model.spam + delta);
  for (const token of tokens) {
    const h = tokenHash(token);
    const counts = model.tokens.get(h) ?? [0, 0];
    counts[slot] = Math.min(MAX_COUNT, Math.max(0, counts[slot] + delta));
    if (counts[0] === 0 && counts[1] === 0) model.tokens.delete(h);
    else model.tokens.set(h, counts);
  }
}

/**
 * Past MAX_MODEL_TOKENS, drops the tokens seen in the fewest messages (those seen once go first:
 * most of any table, and the least telling) until PRUNED_MODEL_TOKENS remain. Returns how many went.
 */
export function pruneModel(model: JunkModel): number {
  if (model.tokens.size <= MAX_MODEL_TOKENS) return 0;
  const byTotal = [...model.tokens].sort((a, b) => a[1][0] + a[1][1] - (b[1][0] + b[1][1]) || a[0] - b[0]);
  const drop = model.tokens.size - PRUNED_MODEL_TOKENS;
  for (let i = 0; i < drop; i++) model.tokens.delete(byTotal[i]![0]);
  return drop;
}

export interface BayesVerdict {
  /** Probability of junk, 0 to 1. */
  readonly probability: number;
  /** Tokens that made it. */
  readonly used: number;
}

/** Whether the model has seen enough of both classes for its verdict to count. */
export const isTrained = (model: JunkModel) => model.ham >= MIN_TRAINED_PER_CLASS && model.spam >= MIN_TRAINED_PER_CLASS;

/**
 * The junk probability of a message: each known token's spamminess (the share of spam among the
 * messages that had it, per class size, smoothed toward ½), the TOP_TOKENS most telling combined
 * as independent evidence (Graham), in logarithms so 15 tiny numbers do not underflow.
 */
export function classify(model: JunkModel, tokens: Iterable<string>): BayesVerdict {
  const nham = Math.max(1, model.ham);
  const nspam = Math.max(1, model.spam);
  const probabilities: number[] = [];
  for (const token of tokens) {
    const counts = model.tokens.get(tokenHash(token));
    if (!counts) continue;
    const [h, s] = counts;
    const ps = s / nspam;
    const ph = h / nham;
    const raw = ps / (ps + ph);
    const n = h + s;
    const p = (PRIOR_STRENGTH * 0.5 + n * raw) / (PRIOR_STRENGTH + n);
    if (Math.abs(p - 0.5) >= IGNORE_BAND) probabilities.push(Math.min(0.99, Math.max(0.01, p)));
  }
  probabilities.sort((a, b) => Math.abs(b - 0.5) - Math.abs(a - 0.5));
  const top = probabilities.slice(0, TOP_TOKENS);
  if (top.length === 0) return { probability: 0.5, used: 0 };
  let logSpam = 0;
  let logHam = 0;
  for (const p of top) {
    logSpam += Math.log(p);
    logHam += Math.log(1 - p);
  }
  // P = Πp / (Πp + Π(1-p)) = 1 / (1 + e^(logHam - logSpam))
  return { probability: 1 / (1 + Math.exp(logHam - logSpam)), used: top.length };
}

function writeVarint(out: number[], value: number): void {
  let v = value >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

const MAGIC = 0x4a31; // "J1": format 1

/**
 * The model as bytes: magic, ham and spam counts, token count, then per token (ascending hash)
 * the hash's delta from the previous one and the two counts, all as varints. Deltas of sorted
 * 32-bit hashes average 2^32 / n, three bytes at 30 000 tokens; counts are mostly one byte.
 */
export function encodeModel(model: JunkModel): Buffer {
  const out: number[] = [MAGIC >> 8, MAGIC & 0xff];
  writeVarint(out, model.ham);
  writeVarint(out, model.spam);
  writeVarint(out, model.tokens.size);
  let previous = 0;
  for (const [hash, [h, s]] of [...model.tokens].sort((a, b) => a[0] - b[0])) {
    writeVarint(out, hash - previous);
    writeVarint(out, h);
    writeVarint(out, s);
    previous = hash;
  }
  return Buffer.from(out);
}

/** Reads what encodeModel wrote; throws on anything else (a corrupt item is an error, not an empty model). */
export function decodeModel(bytes: Uint8Array): JunkModel {
  let at = 2;
  if (bytes.length < 2 || ((bytes[0]! << 8) | bytes[1]!) !== MAGIC) throw new Error('not a junk model (bad magic)');
  const read = (): number => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (at >= bytes.length) throw new Error('junk model truncated');
      const b = bytes[at++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw new Error('junk model varint too long');
  };
  const model = emptyModel();
  model.ham = read();
  model.spam = read();
  const count = read();
  let hash = 0;
  for (let i = 0; i < count; i++) {
    hash += read();
    model.tokens.set(hash >>> 0, [read(), read()]);
  }
  return model;
}
