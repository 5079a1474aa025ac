// THREAD (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES over the messages a search matched, and the
// thread-list wire form. Pure; ./commands/thread.ts loads the messages and their References.
import { baseSubject, collationKey, type BaseSubject } from '../../core/mime/base-subject.ts';
import { sentDate, type SortSubject } from './sort.ts';

export interface ThreadSubject extends SortSubject {
  /** The number answered: the UID for UID THREAD, else the message number. */
  readonly number: number;
  /** Message-ids of the References header (REFERENCES only; empty when absent). */
  readonly references: readonly string[];
}

interface Message {
  readonly subject: ThreadSubject;
  readonly sent: number;
  readonly base: BaseSubject;
}

interface Container {
  message: Message | null;
  parent: Container | null;
  children: Container[];
}

const newContainer = (): Container => ({ message: null, parent: null, children: [] });

/** The msg-ids of a header value, in order. */
export function messageIds(value: string | null): string[] {
  return [...(value ?? '').matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
}

const toMessage = (subject: ThreadSubject): Message => ({ subject, sent: sentDate(subject), base: baseSubject(subject.envelope.subject) });

/** Sent date, then message number (RFC 5256 §3: ties in sequence order). */
const byDate = (a: Message, b: Message) => a.sent - b.sent || a.subject.msn - b.subject.msn;

/**
 * ORDEREDSUBJECT: messages grouped by base subject; in each group the earliest is the parent of
 * the others (siblings by date); threads ordered by the date of their first message.
 */
export function threadByOrderedSubject(subjects: readonly ThreadSubject[]): Container[] {
  const messages = subjects.map(toMessage).sort((a, b) => {
    const [x, y] = [collationKey(a.base.text), collationKey(b.base.text)];
    return x < y ? -1 : x > y ? 1 : byDate(a, b);
  });
  const threads: Container[] = [];
  let last: { key: string; root: Container } | null = null;
  for (const message of messages) {
    const key = collationKey(message.base.text);
    const container: Container = { ...newContainer(), message };
    if (last && last.key === key) {
      container.parent = last.root;
      last.root.children.push(container);
    } else {
      last = { key, root: container };
      threads.push(container);
    }
  }
  return threads.sort((a, b) => byDate(a.message!, b.message!));
}

/** Whether `target` is `from` or one of its descendants. */
function reaches(from: Container, target: Container): boolean {
  if (from === target) return true;
  return from.children.some((c) => reaches(c, target));
}

function link(parent: Container, child: Container): void {
  child.parent = parent;
  parent.children.push(child);
}

function unlink(child: Container): void {
  const parent = child.parent;
  if (!parent) return;
  parent.children = parent.children.filter((c) => c !== child);
  child.parent = null;
}

/** RFC 5256 §3 REFERENCES, steps 1 to 6. */
export function threadByReferences(subjects: readonly ThreadSubject[]): Container[] {
  const table = new Map<string, Container>();
  const all: Container[] = [];
  const containerFor = (id: string) => {
    let c = table.get(id);
    if (!c) {
      c = newContainer();
      table.set(id, c);
      all.push(c);
    }
    return c;
  };
  // (1) Link each message under its references.
  for (const subject of [...subjects].sort((a, b) => a.msn - b.msn)) {
    const id = messageIds(subject.envelope.messageId)[0];
    // A second message with an id already taken is threaded as if it had none.
    const orphan = () => {
      const c = newContainer();
      all.push(c);
      return c;
    };
    let container = id !== undefined ? table.get(id) : undefined;
    if (!container) container = id !== undefined ? containerFor(id) : orphan();
    else if (container.message) container = orphan();
    container.message = toMessage(subject);
    const references = subject.references.length > 0 ? subject.references : messageIds(subject.envelope.inReplyTo).slice(0, 1);
    // (1A) Chain the references, never over an existing parent link nor into a loop.
    let previous: Container | null = null;
    for (const reference of references) {
      const current = containerFor(reference);
      if (previous && !current.parent && !reaches(current, previous) && !reaches(previous, current)) link(previous, current);
      previous = current;
    }
    // (1B) The last reference is the parent (replacing a parent from a truncated References).
    if (previous !== container.parent) {
      unlink(container);
      if (previous && !reaches(container, previous)) link(previous, container);
    }
  }
  // (2) The root set; (4) dummies pruned.
  let roots = prune(all.filter((c) => !c.parent), true);
  // (5) Roots merged by base subject.
  roots = mergeBySubject(roots);
  // (6) Siblings by sent date (a dummy counts as its first child), roots likewise.
  return sortTree(roots);
}

/** (4) A dummy without children goes; one with children gives them to its parent, but at the root only a single child. */
function prune(level: Container[], atRoot: boolean): Container[] {
  const out: Container[] = [];
  for (const container of level) {
    container.children = prune(container.children, false);
    for (const child of container.children) child.parent = container;
    if (!container.message) {
      if (container.children.length === 0) continue;
      if (!atRoot || container.children.length === 1) {
        for (const child of container.children) child.parent = atRoot ? null : container.parent;
        out.push(...container.children);
        continue;
      }
    }
    out.push(container);
  }
  return out;
}

/** The message whose subject a root stands for: its own, or its first child's for a dummy. */
const subjectMessage = (c: Container): Message | null => c.message ?? c.children[0]?.message ?? null;

/** (5) Threads whose roots share a base subject are gathered. */
function mergeBySubject(roots: Container[]): Container[] {
  const table = new Map<string, Container>();
  for (const root of roots) {
    const message = subjectMessage(root);
    if (!message || message.base.text === '') continue;
    const key = collationKey(message.base.text);
    const old = table.get(key);
    if (!old || (old.message && (!root.message || (old.message.base.isReplyOrForward && !message.base.isReplyOrForward)))) table.set(key, root);
  }
  const out = [...roots];
  for (const root of roots) {
    const message = subjectMessage(root);
    if (!message || message.base.text === '') continue;
    const key = collationKey(message.base.text);
    const kept = table.get(key)!;
    if (kept === root) continue;
    const remove = () => out.splice(out.indexOf(root), 1);
    if (!kept.message && !root.message) {
      for (const child of root.children) link(kept, child);
      root.children = [];
      remove();
    } else if (!kept.message && root.message) {
      link(kept, root);
      remove();
    } else if (root.message && message.base.isReplyOrForward && !kept.message!.base.isReplyOrForward) {
      link(kept, root);
      remove();
    } else {
      const dummy = newContainer();
      out.splice(out.indexOf(kept), 1, dummy);
      remove();
      link(dummy, kept);
      link(dummy, root);
      table.set(key, dummy);
    }
  }
  return out;
}

/** (6) Children and roots by sent date; a dummy sorts by its first child once its children are sorted. */
function sortTree(level: Container[]): Container[] {
  for (const c of level) c.children = sortTree(c.children);
  const dateOf = (c: Container): Message => c.message ?? dateOf(c.children[0]!);
  return level.sort((a, b) => byDate(dateOf(a), dateOf(b)));
}

/** RFC 5256 §5 thread-list: "(1 2 (3)(4 5))": a chain of single children flat, branches nested. */
function render(container: Container): string {
  const parts: string[] = [];
  let node = container;
  for (;;) {
    if (node.message) parts.push(String(node.message.subject.number));
    if (node.children.length === 1) {
      node = node.children[0]!;
      continue;
    }
    if (node.children.length > 1) parts.push(node.children.map((c) => `(${render(c)})`).join(''));
    return parts.join(' ');
  }
}

/** `* THREAD` followed by one thread-list per thread. */
export function threadResponse(threads: readonly Container[]): Buffer {
  return Buffer.from(`* THREAD${threads.length > 0 ? ' ' : ''}${threads.map((t) => `(${render(t)})`).join('')}\r\n`);
}
