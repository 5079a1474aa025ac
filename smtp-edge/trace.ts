// The trace headers the edge prepends to every message: Return-Path (RFC 5321 §4.4) and its
// Received: line with protocol (RFC 3848, RFC 6531 §3.7.3) and TLS details.
import { rfc5322Date } from '../core/rfc5322-date.ts';
import { isIPv6 } from 'node:net';

export interface TraceFacts {
  readonly id: string;
  readonly receivedAt: Date;
  /** Our host name (the by-domain). */
  readonly hostname: string;
  /** The HELO/EHLO argument as the client gave it. */
  readonly helo: string;
  /** Reverse DNS name of the client, if one was found. */
  readonly reverseName: string | null;
  /** The client's IP, or null to leave the TCP-info out (a submission privacy setting). */
  readonly remoteIp: string | null;
  /** `with` keyword: SMTP, ESMTP, ESMTPS, ESMTPSA, UTF8SMTPS, ... */
  readonly protocol: string;
  readonly tls: { readonly protocol: string; readonly cipher: string } | null;
  /** Envelope sender; '' for the null reverse-path. */
  readonly mailFrom: string;
  readonly recipients: readonly string[];
}

/**
 * The `with` protocol name. RFC 3848: ESMTP plus S for TLS and A for authentication;
 * RFC 6531 §3.7.3: UTF8SMTP when the transaction used SMTPUTF8; plain SMTP after HELO.
 */
export function transmissionProtocol(options: { ehlo: boolean; utf8: boolean; tls: boolean; authenticated: boolean }): string {
  const base = options.utf8 ? 'UTF8SMTP' : options.ehlo ? 'ESMTP' : 'SMTP';
  return base + (options.tls ? 'S' : '') + (options.authenticated ? 'A' : '');
}

/** RFC 5321 §4.1.3 address literal: `[192.0.2.1]` or `[IPv6:2001:db8::1]`. */
export function addressLiteral(ip: string): string {
  return isIPv6(ip) ? `[IPv6:${ip}]` : `[${ip}]`;
}

/**
 * Client-supplied names go into a header comment, so anything that could end the comment,
 * fold the header or smuggle bytes is replaced (smtp-server already refuses control chars).
 */
function headerSafe(value: string): string {
  return value.replace(/[^\x21-\x7e]|[()\\]/g, '?') || '?';
}

/**
 * `Return-Path:` then `Received:` (RFC 5321 §4.4 Stamp: From-domain By-domain Opt-info ";" date),
 * each ending in CRLF, ready to go in front of the message bytes.
 *   Received: from helo (rdns [ip])
 *           (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)
 *           by mx.example with ESMTPS id ID
 *           for <rcpt>; Tue, 01 Dec 2026 10:00:00 +0000
 * The `for` clause only names a single recipient: listing all would disclose Bcc recipients
 * to each other (RFC 5321 §7.2).
 */
export function traceHeaders(facts: TraceFacts): Buffer {
  // RFC 5321 §4.4: Extended-Domain may be the bare Domain, without TCP-info
  const literal = facts.remoteIp === null ? null : addressLiteral(facts.remoteIp);
  const tcpInfo = literal === null ? null : facts.reverseName ? `${headerSafe(facts.reverseName)} ${literal}` : literal;
  const lines = [`Received: from ${headerSafe(facts.helo)}${tcpInfo === null ? '' : ` (${tcpInfo})`}`];
  if (facts.tls) lines.push(`\t(using ${headerSafe(facts.tls.protocol)} with cipher ${headerSafe(facts.tls.cipher)})`);
  lines.push(`\tby ${facts.hostname} with ${facts.protocol} id ${facts.id}`);
  const only = facts.recipients.length === 1 ? facts.recipients[0] : undefined;
  const date = rfc5322Date(facts.receivedAt);
  if (only !== undefined) lines.push(`\tfor <${only}>; ${date}`);
  else lines[lines.length - 1] += `; ${date}`;
  return Buffer.from(`Return-Path: <${facts.mailFrom}>\r\n${lines.join('\r\n')}\r\n`, 'utf8');
}
