// mailctl's outbound commands: the relay's queue (list, show, retry, delete) and DKIM keys
// (generate, show, list). What each command means; parsing stays in cli/mailctl.ts.
import type { OutboundEvent } from '../core/contracts.ts';
import { StoreError } from '../core/store/types.ts';
import type { OutboundRecord } from '../core/outbound/queue-store.ts';
import { TERMINAL_STATES } from '../core/outbound/states.ts';
import type { Command, OutboundServices } from './command.ts';
import { displayDate as date } from './output.ts';

/** Key generation and records live beside DKIM signing (mailauth), which only these commands need loaded. */
const loadDkim = () => import('../core/dkim.ts');


const short = (text: string | null, max = 60) => (!text ? '-' : text.length > max ? `${text.slice(0, max - 1)}…` : text);
/** `<>` for the null reverse-path of a bounce (RFC 5321 §4.5.5). */
const sender = (r: OutboundRecord) => r.event.mailFrom || '<>';
/** A finished delivery has no next attempt, whatever its record still says. */
const nextTry = (r: OutboundRecord) => (TERMINAL_STATES.includes(r.state) ? '-' : date(r.nextAttemptAt));

function recordJson(r: OutboundRecord) {
  return {
    id: r.id, state: r.state, domain: r.event.domain, mailFrom: r.event.mailFrom, recipients: r.event.recipients,
    attempts: r.event.attempts, firstAttemptAt: r.event.firstAttemptAt, nextAttemptAt: r.nextAttemptAt,
    lastError: r.lastError, sequence: r.sequence, blobKey: r.event.key, createdAt: r.createdAt, updatedAt: r.updatedAt,
  };
}

async function requireRecord(services: OutboundServices, id: string): Promise<OutboundRecord> {
  const record = await services.records.get(id);
  if (!record) throw new StoreError('not-found', `no outbound delivery ${id}`);
  return record;
}

export const OUTBOUND_COMMANDS: readonly Command[] = [
  {
    name: 'queue list',
    args: '',
    summary: 'List outbound mail waiting for delivery or retry, with its last error.',
    options: { all: { type: 'boolean', help: 'include delivered, bounced and cancelled deliveries (kept 7 days)' } },
    async run({ services, out }, _args, values) {
      const records = await services.outbound.records.list({ includeFinished: values.all === true });
      out.list(records, [
        { header: 'ID', value: (r) => r.id },
        { header: 'STATE', value: (r) => r.state },
        { header: 'FROM', value: sender },
        { header: 'RCPTS', value: (r) => r.event.recipients.length, align: 'right' },
        { header: 'ATTEMPTS', value: (r) => r.event.attempts.length, align: 'right' },
        { header: 'NEXT', value: nextTry },
        { header: 'LAST ERROR', value: (r) => short(r.lastError) },
      ], recordJson, '(outbound queue is empty)');
    },
  },
  {
    name: 'queue show',
    args: '<id>',
    summary: 'Show one outbound delivery: recipients, attempts and their errors.',
    async run({ services, out }, [id]) {
      const r = await requireRecord(services.outbound, id!);
      if (out.json) return out.done('', recordJson(r));
      out.line(`id:          ${r.id}`);
      out.line(`state:       ${r.state}`);
      out.line(`from:        ${sender(r)}`);
      out.line(`recipients:  ${r.event.recipients.join(', ')}`);
      out.line(`first try:   ${date(r.event.firstAttemptAt)}`);
      out.line(`next try:    ${nextTry(r)}`);
      out.line(`last error:  ${r.lastError ?? '-'}`);
      out.line(`blob:        ${r.event.key}`);
      for (const [i, a] of r.event.attempts.entries()) out.line(`attempt ${i + 1}:   ${date(a.at)}  ${a.error}`);
    },
  },
  {
    name: 'queue retry',
    args: '<id>',
    summary: 'Attempt a waiting delivery now instead of at its scheduled time.',
    async run({ services, out }, [id]) {
      const r = await requireRecord(services.outbound, id!);
      if (TERMINAL_STATES.includes(r.state)) throw new StoreError('conflict', `delivery ${id} is ${r.state}; nothing to retry`);
      // A new generation: the copy waiting in SQS (its delay cannot be changed) becomes stale.
      const { notBefore: _drop, ...rest } = r.event;
      const event: OutboundEvent = { ...rest, sequence: r.sequence + 1 };
      await services.outbound.requeue(event);
      const now = new Date().toISOString();
      if (!(await services.outbound.records.advance(r.id, r.sequence, { state: 'queued', event, nextAttemptAt: now }))) {
        throw new StoreError('conflict', `delivery ${id} changed meanwhile; look again with 'mailctl queue show ${id}'`);
      }
      out.done(`queued ${id} for an attempt now`, { id, retried: true });
    },
  },
  {
    name: 'queue delete',
    args: '<id>',
    summary: 'Cancel a waiting delivery: the relay drops it without a bounce (like postsuper -d).',
    async run({ services, out }, [id]) {
      const r = await requireRecord(services.outbound, id!);
      if (!(await services.outbound.records.cancel(r.id))) throw new StoreError('conflict', `delivery ${id} is already ${r.state}`);
      // Only the call that moved the record to cancelled gets here, so the reference goes once.
      await services.outbound.releaseBlob(r.event.key);
      out.done(`cancelled ${id}`, { id, cancelled: true });
    },
  },
  {
    name: 'dkim generate',
    args: '<domain>',
    summary: 'Create an RSA-2048 DKIM key for a local domain and print the DNS TXT record to publish.',
    options: {
      selector: { type: 'string', help: 'DKIM selector (default "mail")', valueName: 'name' },
      replace: { type: 'boolean', help: 'replace an existing key (publish the new record first, or mail fails DKIM)' },
    },
    async run({ services, out }, [domain], values) {
      if (!(await services.directory.isLocalDomain(domain!))) throw new StoreError('not-found', `no domain ${domain}`);
      const { dkimRecordOf, generateDkimKey, zoneFileLine } = await loadDkim();
      const key = generateDkimKey(domain!.toLowerCase(), typeof values.selector === 'string' ? values.selector : undefined);
      await services.outbound.dkimKeys.put(key, { replace: values.replace === true });
      const record = dkimRecordOf(key);
      // The private key stays in the store; only the public record is printed.
      if (out.json) return out.done('', record);
      out.line(`DKIM key created for ${record.domain}. Publish this TXT record:`);
      out.line(zoneFileLine(record));
    },
  },
  {
    name: 'dkim show',
    args: '<domain>',
    summary: "Print a domain's DKIM TXT record.",
    async run({ services, out }, [domain]) {
      const key = await services.outbound.dkimKeys.get(domain!);
      if (!key) throw new StoreError('not-found', `no DKIM key for ${domain}`);
      const { dkimRecordOf, zoneFileLine } = await loadDkim();
      const record = dkimRecordOf(key);
      if (out.json) return out.done('', record);
      out.line(zoneFileLine(record));
    },
  },
  {
    name: 'dkim list',
    args: '',
    summary: 'List the domains with a DKIM key and their selectors.',
    async run({ services, out }) {
      const keys = await services.outbound.dkimKeys.list();
      const { dkimRecordOf } = await loadDkim();
      out.list(keys, [
        { header: 'DOMAIN', value: (k) => k.domain },
        { header: 'SELECTOR', value: (k) => k.selector },
        { header: 'CREATED', value: (k) => date(k.createdAt) },
      ], (k) => ({ ...dkimRecordOf(k), createdAt: k.createdAt }), '(no DKIM keys)');
    },
  },
];
