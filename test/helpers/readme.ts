// The README's shell commands, read from the README itself so the tests follow it when it changes.
// Convention: a ```sh block is something to run; the block under "## Set up" holds the set-up
// commands (checked on a fresh clone), every other ```sh block is run against a local stack.
// Snippets that are not meant to run as they stand use ```text.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ShellBlock {
  /** The nearest heading above the block. */
  readonly heading: string;
  /** Command lines: comments and blank lines dropped, `\` continuations joined. */
  readonly commands: readonly string[];
}

export function readmeShellBlocks(root: string): ShellBlock[] {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks: ShellBlock[] = [];
  let heading = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const title = /^#{1,6}\s+(.*)$/.exec(line);
    if (title) heading = title[1]!.trim();
    if (!/^```(sh|bash|shell)\s*$/.test(line)) continue;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    blocks.push({ heading, commands: shellCommands(body) });
  }
  return blocks;
}

/** The README's set-up commands, in order (e.g. `npm install && npm start`, `npm test`). */
export function setupCommands(root: string): string[] {
  const block = readmeShellBlocks(root).find((b) => /^set up/i.test(b.heading));
  if (!block) throw new Error('README.md has no ```sh block under a "Set up" heading');
  return [...block.commands];
}

function shellCommands(lines: string[]): string[] {
  const commands: string[] = [];
  let pending = '';
  for (const raw of lines) {
    // a trailing comment (`npm test   # run the tests`) is for the reader
    const line = raw.replace(/\s+#\s.*$/, '').replace(/^\s*#.*$/, '').trimEnd();
    if (!line.trim() && !pending) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    commands.push(`${pending}${line}`.trim());
    pending = '';
  }
  return commands.filter(Boolean);
}
