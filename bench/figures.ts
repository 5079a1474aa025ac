// A benchmark figure as bench/results/latest.json holds it (bench/README.md): ours and the anchor
// measured in the same run, and our speed relative to the anchor.
import type { LatencyModel } from '../core/aws/latency.ts';

export interface Figure {
  readonly name: string;
  readonly ours: number;
  /** The anchor's value in the same run; null where there is none (the emulators' own speed). */
  readonly anchor: number | null;
  /** Our speed relative to the anchor: ours/anchor for rates, anchor/ours for times; above 1 we are faster. */
  readonly ratio: number | null;
  readonly unit: string;
  /** 'off', or the medians of the model our side ran with ('s3=30,dynamodb=5,sqs=10'); the anchor never has one. */
  readonly latencyModel: string;
}

/** A rate (higher is better) or a time (lower is better). */
export type Unit = 'msg/s' | 'commands/s' | 'cycles/s' | 'ms' | 's';
const HIGHER_IS_BETTER: Record<Unit, boolean> = { 'msg/s': true, 'commands/s': true, 'cycles/s': true, ms: false, s: false };

export function figure(name: string, unit: Unit, ours: number, anchor: number | null, latencyModel: string): Figure {
  const round = (n: number) => +n.toFixed(n >= 100 ? 0 : 2);
  const ratio = anchor === null || !(anchor > 0) || !(ours > 0) ? null : HIGHER_IS_BETTER[unit] ? ours / anchor : anchor / ours;
  return { name, ours: round(ours), anchor: anchor === null ? null : round(anchor), ratio: ratio === null ? null : +ratio.toFixed(3), unit, latencyModel };
}

export const modelName = (model: LatencyModel | null) =>
  model ? Object.entries(model.medianMs).map(([s, ms]) => `${s}=${ms}`).join(',') : 'off';

/** The figures as a table: one row each, named with the model our side ran with. */
export function printFigures(figures: readonly Figure[]): void {
  console.table(Object.fromEntries(figures.map((f) => [`${f.name} [${f.latencyModel}]`, { ours: f.ours, anchor: f.anchor ?? '', unit: f.unit, ratio: f.ratio ?? '' }])));
}
