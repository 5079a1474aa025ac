// A latency model of AWS for the emulators. fauxqs and dynalite answer in about a millisecond;
// S3, DynamoDB and SQS do not (S3 GET/PUT of a small object: tens of milliseconds at the median,
// AWS's S3 performance guidelines; DynamoDB: single-digit milliseconds; SQS: around ten). Code that
// makes one round trip after another looks fast on the emulators and is slow in the cloud; with
// this middleware on, each request waits as the real service would make it wait, so serial round
// trips show on this machine.
//
// Configuration (MAIL_AWS_LATENCY): `aws` for the medians below, or per service in milliseconds,
// e.g. `s3=30,dynamodb=5,sqs=10`. Each request waits its service's median times a log-normal
// factor (a seeded tail: p99 about 2.5× the median), plus its payload at a bandwidth
// (MAIL_AWS_LATENCY_MBPS, default 80 MB/s for one S3 stream). Off unless set, and refused when a
// client talks to real AWS (no endpoint override): it exists for the emulators only.
import { z } from 'zod';
import { seededRandom } from '../seeded-random.ts';

export const LATENCY_SERVICES = ['s3', 'dynamodb', 'sqs'] as const;
export type LatencyService = (typeof LATENCY_SERVICES)[number];

export const latencyModelSchema = z.object({
  /** Median added per request, per service, in milliseconds. */
  medianMs: z.object({ s3: z.number().nonnegative(), dynamodb: z.number().nonnegative(), sqs: z.number().nonnegative() }),
  /** Bytes per millisecond for request and response bodies. */
  bytesPerMs: z.number().positive(),
  /** Seed of the tail's random numbers, so two runs wait alike. */
  seed: z.number().int(),
});
export type LatencyModel = z.infer<typeof latencyModelSchema>;

/** Medians as AWS documents them for requests inside a region. */
export const AWS_MEDIANS_MS: Readonly<Record<LatencyService, number>> = { s3: 30, dynamodb: 5, sqs: 10 };
const DEFAULT_MBPS = 80;
/** σ of the log-normal tail: exp(2.326 σ) ≈ 2.5, so p99 ≈ 2.5 × median. */
const TAIL_SIGMA = 0.4;

/** Reads MAIL_AWS_LATENCY (+ _MBPS, _SEED); null when unset or `off`. Throws on a malformed value. */
export function latencyModelFromEnv(env: Record<string, string | undefined>): LatencyModel | null {
  const spec = env.MAIL_AWS_LATENCY?.trim();
  if (!spec || spec === 'off') return null;
  const medianMs: Record<LatencyService, number> = spec === 'aws' ? { ...AWS_MEDIANS_MS } : { s3: 0, dynamodb: 0, sqs: 0 };
  if (spec !== 'aws') {
    for (const part of spec.split(',')) {
      const m = /^\s*(s3|dynamodb|sqs)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
      if (!m) throw new Error(`MAIL_AWS_LATENCY: '${part}' is not <s3|dynamodb|sqs>=<ms> (or use 'aws' or 'off')`);
      medianMs[m[1] as LatencyService] = Number(m[2]);
    }
  }
  const mbps = env.MAIL_AWS_LATENCY_MBPS === undefined ? DEFAULT_MBPS : Number(env.MAIL_AWS_LATENCY_MBPS);
  if (!(mbps > 0)) throw new Error('MAIL_AWS_LATENCY_MBPS must be a positive number');
  const seed = env.MAIL_AWS_LATENCY_SEED === undefined ? 1 : Number(env.MAIL_AWS_LATENCY_SEED);
  if (!Number.isInteger(seed)) throw new Error('MAIL_AWS_LATENCY_SEED must be an integer');
  return { medianMs, bytesPerMs: (mbps * 1_000_000) / 1000, seed };
}

/** The inverse of latencyModelFromEnv, for child processes. */
export function latencyModelToEnv(model: LatencyModel): Record<string, string> {
  return {
    MAIL_AWS_LATENCY: LATENCY_SERVICES.map((s) => `${s}=${model.medianMs[s]}`).join(','),
    MAIL_AWS_LATENCY_MBPS: String((model.bytesPerMs * 1000) / 1_000_000),
    MAIL_AWS_LATENCY_SEED: String(model.seed),
  };
}

/** Draws the wait of each request: median × a log-normal factor (median 1), plus bytes / bandwidth. */
export class LatencyDraw {
  private readonly random: () => number;
  private spare: number | null = null;

  constructor(private readonly model: LatencyModel, service: LatencyService) {
    this.random = seededRandom(model.seed * 31 + LATENCY_SERVICES.indexOf(service));
    this.median = model.medianMs[service];
  }

  private readonly median: number;

  /** A standard normal number (Box–Muller, two per pair of uniforms). */
  private normal(): number {
    if (this.spare !== null) {
      const value = this.spare;
      this.spare = null;
      return value;
    }
    const u = 1 - this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  nextMs(payloadBytes: number): number {
    if (this.median === 0 && payloadBytes === 0) return 0;
    return this.median * Math.exp(TAIL_SIGMA * this.normal()) + payloadBytes / this.model.bytesPerMs;
  }
}

interface MiddlewareClient {
  middlewareStack: { add(middleware: unknown, options: { step: 'finalizeRequest'; name: string; priority?: 'low' }): void };
}

interface HttpLike {
  headers?: Record<string, string>;
  body?: unknown;
}

const contentLength = (headers: Record<string, string> | undefined) => {
  const value = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'content-length')?.[1];
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : 0;
};

/**
 * Adds the modelled wait to every request of one client: before the request is sent (the round
 * trip and the upload), and the response's own bytes after it arrives.
 */
export function addModelledLatency(client: MiddlewareClient, service: LatencyService, model: LatencyModel, endpoint: string | undefined): void {
  if (!endpoint) throw new Error(`the AWS latency model is for emulators only: ${service} has no endpoint override`);
  const draw = new LatencyDraw(model, service);
  const wait = (ms: number) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : undefined);
  client.middlewareStack.add(
    (next: (args: { request: HttpLike }) => Promise<{ response: HttpLike }>) => async (args: { request: HttpLike }) => {
      await wait(draw.nextMs(contentLength(args.request.headers)));
      const result = await next(args);
      await wait(contentLength(result.response?.headers) / model.bytesPerMs);
      return result;
    },
    { step: 'finalizeRequest', name: 'mailModelledLatency', priority: 'low' },
  );
}
