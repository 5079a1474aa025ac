// The typed form of an IMAP command after parsing: what a handler receives, free of wire detail.
import type { SequenceSet } from '../sequence-set.ts';

/** A calendar date of SEARCH (RFC 3501 §9 date), month 1-12. */
export interface ImapDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** An APPEND date-time: the instant and the zone offset the client wrote, in minutes east of UTC. */
export interface ImapDateTime {
  readonly instant: Date;
  readonly zoneMinutes: number;
}

/** RFC 3501 §6.4.5 section-text, after the optional part number. */
export type SectionText =
  | { readonly kind: 'HEADER' }
  | { readonly kind: 'TEXT' }
  | { readonly kind: 'MIME' }
  | { readonly kind: 'HEADER.FIELDS'; readonly fields: readonly string[]; readonly not: boolean };

/** BODY[section]: `part` is empty for the whole message; `text` null means the part's whole content. */
export interface Section {
  readonly part: readonly number[];
  readonly text: SectionText | null;
}

export type FetchAttribute =
  | { readonly kind: 'ENVELOPE' | 'FLAGS' | 'INTERNALDATE' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.SIZE' | 'RFC822.TEXT' | 'BODY' | 'BODYSTRUCTURE' | 'UID' | 'MODSEQ' | 'SAVEDATE' | 'EMAILID' | 'THREADID' }
  /** RFC 8970 PREVIEW; LAZY lets the server answer NIL when the preview is not at hand. */
  | { readonly kind: 'PREVIEW'; readonly lazy: boolean }
  | {
      readonly kind: 'BODY[]';
      /** BODY.PEEK: do not set \Seen. */
      readonly peek: boolean;
      readonly section: Section;
      /** <offset.length> */
      readonly partial: { readonly offset: number; readonly length: number } | null;
    }
  /** RFC 3516 BINARY[part]<partial> and BINARY.PEEK: the part's content, transfer-decoded. */
  | { readonly kind: 'BINARY[]'; readonly peek: boolean; readonly part: readonly number[]; readonly partial: { readonly offset: number; readonly length: number } | null }
  /** RFC 3516 BINARY.SIZE[part]: octets of the decoded content. */
  | { readonly kind: 'BINARY.SIZE'; readonly part: readonly number[] };

/** RFC 3501 §6.4.4 search-key, with NEW/OLD and the flag keys folded into `flag`. */
export type SearchKey =
  | { readonly kind: 'all' }
  /** A system flag (canonical case, e.g. "\\Seen") or keyword, present or absent. */
  | { readonly kind: 'flag'; readonly flag: string; readonly present: boolean }
  /** BCC/CC/FROM/SUBJECT/TO are HEADER searches on that field. */
  | { readonly kind: 'header'; readonly field: string; readonly value: string }
  | { readonly kind: 'body' | 'text'; readonly value: string }
  /** `saved`: RFC 8514 SAVEDBEFORE / SAVEDON / SAVEDSINCE. */
  | { readonly kind: 'date'; readonly of: 'internal' | 'sent' | 'saved'; readonly op: 'before' | 'on' | 'since'; readonly date: ImapDate }
  | { readonly kind: 'size'; readonly op: 'larger' | 'smaller'; readonly octets: number }
  | { readonly kind: 'sequence' | 'uid'; readonly set: SequenceSet }
  | { readonly kind: 'modseq'; readonly modseq: bigint; readonly entry: { readonly name: string; readonly type: 'priv' | 'shared' | 'all' } | null }
  /** RFC 8474 §6 EMAILID / THREADID. */
  | { readonly kind: 'objectid'; readonly of: 'email' | 'thread'; readonly id: string }
  /** RFC 5032 WITHIN: YOUNGER / OLDER than `seconds` before now, on the internal date. */
  | { readonly kind: 'within'; readonly op: 'younger' | 'older'; readonly seconds: number }
  | { readonly kind: 'not'; readonly key: SearchKey }
  | { readonly kind: 'or'; readonly left: SearchKey; readonly right: SearchKey }
  | { readonly kind: 'and'; readonly keys: readonly SearchKey[] };

/** RFC 4731 §3.1 search-return-opt, RFC 5182 §2.4 SAVE; null when the command had no RETURN. */
export interface SearchReturnOptions {
  readonly min: boolean;
  readonly max: boolean;
  readonly all: boolean;
  readonly count: boolean;
  readonly save: boolean;
}

/** RFC 5256 §3 sort-key, with RFC 5957 DISPLAYFROM / DISPLAYTO. */
export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';

export interface SortCriterion {
  readonly key: SortKey;
  readonly reverse: boolean;
}

export type StatusItem = 'MESSAGES' | 'RECENT' | 'UIDNEXT' | 'UIDVALIDITY' | 'UNSEEN' | 'HIGHESTMODSEQ' | 'SIZE' | 'APPENDLIMIT' | 'DELETED' | 'DELETED-STORAGE' | 'MAILBOXID';

/** LIST-EXTENDED (RFC 5258) return options we understand. */
export interface ListReturnOptions {
  readonly subscribed: boolean;
  readonly children: boolean;
  readonly specialUse: boolean;
  /** RFC 5819 LIST-STATUS. */
  readonly status: readonly StatusItem[] | null;
}

/** RFC 7162 §3.2.5 SELECT/EXAMINE (QRESYNC (uidvalidity modseq [known-uids [seq-match-data]])); seq-match-data is parsed and not used. */
export interface QresyncParameter {
  readonly uidValidity: number;
  readonly modSeq: bigint;
  readonly knownUids: SequenceSet | null;
}

type Tagged<T> = T & { readonly tag: string };

/** RFC 3501 §6.3.11 / RFC 3502 §6 append-message: its flags, optional date-time and bytes. */
export interface AppendMessage {
  readonly flags: readonly string[];
  readonly date: ImapDateTime | null;
  readonly message: Buffer;
  /** Sent as RFC 6855 §4 `UTF8 (literal8)`: only valid once UTF8=ACCEPT is enabled. */
  readonly utf8: boolean;
}

/** Mailbox names are as on the wire (modified UTF-7 still encoded), except "INBOX" in any case becomes "INBOX". */
export type ImapCommand = Tagged<
  | { readonly name: 'CAPABILITY' | 'NOOP' | 'LOGOUT' | 'STARTTLS' | 'CHECK' | 'CLOSE' | 'UNSELECT' | 'IDLE' | 'NAMESPACE' | 'UNAUTHENTICATE' }
  | { readonly name: 'AUTHENTICATE'; readonly mechanism: string; readonly initialResponse: string | null }
  | { readonly name: 'LOGIN'; readonly username: string; readonly password: string }
  | { readonly name: 'SELECT' | 'EXAMINE'; readonly mailbox: string; readonly condstore: boolean; readonly qresync: QresyncParameter | null }
  | { readonly name: 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE'; readonly mailbox: string }
  /** RFC 6154 §3: `use` holds the special-use attributes asked for with USE (empty without). */
  | { readonly name: 'CREATE'; readonly mailbox: string; readonly use: readonly string[] }
  | { readonly name: 'RENAME'; readonly mailbox: string; readonly newName: string }
  | {
      readonly name: 'LIST';
      readonly selectOptions: readonly string[];
      readonly reference: string;
      readonly patterns: readonly string[];
      readonly returnOptions: ListReturnOptions;
    }
  | { readonly name: 'LSUB'; readonly reference: string; readonly pattern: string }
  | { readonly name: 'STATUS'; readonly mailbox: string; readonly items: readonly StatusItem[] }
  /** One message, or several with RFC 3502 MULTIAPPEND, in the order sent. */
  | { readonly name: 'APPEND'; readonly mailbox: string; readonly messages: readonly AppendMessage[] }
  | { readonly name: 'ENABLE'; readonly capabilities: readonly string[] }
  /** RFC 4978 §3; `mechanism` upper-cased. */
  | { readonly name: 'COMPRESS'; readonly mechanism: string }
  | { readonly name: 'ID'; readonly parameters: ReadonlyArray<readonly [string, string | null]> | null }
  /** `uidSet` is set for UID EXPUNGE (RFC 4315 §2.1). */
  | { readonly name: 'EXPUNGE'; readonly uidSet: SequenceSet | null }
  | { readonly name: 'SEARCH'; readonly uid: boolean; readonly charset: string | null; readonly criteria: SearchKey; readonly returnOptions: SearchReturnOptions | null }
  /** RFC 5256: SORT and THREAD take a search program with a mandatory charset. */
  | { readonly name: 'SORT'; readonly uid: boolean; readonly sortCriteria: readonly SortCriterion[]; readonly charset: string; readonly criteria: SearchKey }
  | { readonly name: 'THREAD'; readonly uid: boolean; readonly algorithm: 'ORDEREDSUBJECT' | 'REFERENCES'; readonly charset: string; readonly criteria: SearchKey }
  | { readonly name: 'FETCH'; readonly uid: boolean; readonly sequence: SequenceSet; readonly attributes: readonly FetchAttribute[]; readonly changedSince: bigint | null; readonly vanished: boolean }
  | {
      readonly name: 'STORE';
      readonly uid: boolean;
      readonly sequence: SequenceSet;
      readonly action: 'replace' | 'add' | 'remove';
      readonly silent: boolean;
      readonly flags: readonly string[];
      readonly unchangedSince: bigint | null;
    }
  /** RFC 9208 §4.1: GETQUOTA names a quota root, GETQUOTAROOT a mailbox; SETQUOTA's limits are not kept. */
  | { readonly name: 'GETQUOTA' | 'SETQUOTA'; readonly root: string }
  | { readonly name: 'GETQUOTAROOT'; readonly mailbox: string }
  | { readonly name: 'COPY' | 'MOVE'; readonly uid: boolean; readonly sequence: SequenceSet; readonly mailbox: string }
>;

export type ImapCommandName = ImapCommand['name'];
