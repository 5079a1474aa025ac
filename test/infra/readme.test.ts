// infra/README.md is the deploy guide a domain owner follows: every setting it names must be one
// infra/settings.ts reads (a renamed or removed key would otherwise be silently ignored by cdk), and
// every setting must be in its table. Names are `mail:<key>` and `mail:<key>.<sub>`; inside a table
// row, the backticked field names (`minTasks`) and `{a, b}` lists belong to that row's setting.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { REPO_ROOT } from '../../infra/app.ts';
import { deploymentSettingsSchema, SETTING_KEYS } from '../../infra/settings.ts';

const readme = readFileSync(path.join(REPO_ROOT, 'infra/README.md'), 'utf8');

type Def = { type: string; options?: z.ZodType[]; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; valueType?: z.ZodType; element?: z.ZodType; entries?: Record<string, string>; values?: unknown[] };
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under wrappers (default, optional, nullable, prefault, transform pipes). */
function unwrap(s: z.ZodType): z.ZodType {
  for (;;) {
    const def = defOf(s);
    if (def.innerType) s = def.innerType;
    // z.preprocess is a pipe from a transform into the schema that describes the setting.
    else if (def.type === 'pipe' && def.in && defOf(def.in).type === 'transform' && def.out) s = def.out;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else return s;
  }
}

/** The setting at a dotted path (`relay.retry`), or undefined when there is none. */
function settingAt(dotted: string): z.ZodType | undefined {
  let s: z.ZodType | undefined = deploymentSettingsSchema;
  for (const part of dotted.split('.')) {
    const def: Def | undefined = s && defOf(unwrap(s));
    s = def?.type === 'object' ? def.shape?.[part] : undefined;
  }
  return s;
}

/** Every field name and enum value anywhere under a setting. */
function namesUnder(s: z.ZodType, out = new Set<string>()): Set<string> {
  const def = defOf(unwrap(s));
  if (def.type === 'object') for (const [k, v] of Object.entries(def.shape ?? {})) { out.add(k); namesUnder(v, out); }
  if (def.type === 'record' && def.valueType) namesUnder(def.valueType, out);
  if (def.type === 'array' && def.element) namesUnder(def.element, out);
  if (def.type === 'union') for (const o of def.options ?? []) namesUnder(o, out);
  if (def.type === 'enum') for (const v of Object.values(def.entries ?? {})) out.add(String(v));
  if (def.type === 'literal') for (const v of def.values ?? []) out.add(String(v));
  return out;
}

describe('infra/README.md', () => {
  it('names only settings that infra/settings.ts reads', () => {
    const named = [...new Set([...readme.matchAll(/mail:([A-Za-z][A-Za-z.]*[A-Za-z])/g)].map((m) => m[1]!))];
    assert.ok(named.length >= SETTING_KEYS.length, `found ${named.length} names`);
    assert.deepEqual(named.filter((n) => !settingAt(n)), [], 'settings the README names that do not exist');
  });

  it('documents every setting in its settings table, and each row\'s field names exist', () => {
    const rows = readme.split('\n').filter((l) => /^\| `mail:[A-Za-z.]+` \|/.test(l));
    const documented = rows.map((r) => /`mail:([A-Za-z.]+)`/.exec(r)![1]!);
    assert.deepEqual(SETTING_KEYS.filter((k) => !documented.includes(k)), [], 'settings missing from the table');
    for (const row of rows) {
      const key = /`mail:([A-Za-z.]+)`/.exec(row)![1]!;
      const setting = settingAt(key)!;
      if (defOf(unwrap(setting)).type !== 'object') continue;
      const names = namesUnder(setting);
      const fields = [
        ...[...row.matchAll(/`([a-z][A-Za-z0-9]*)`/g)].map((m) => m[1]!),
        ...[...row.matchAll(/\{([A-Za-z, ]+)\}/g)].flatMap((m) => m[1]!.split(',').map((f) => f.trim())),
      ].filter((f) => !['null', 'true', 'false'].includes(f));
      assert.deepEqual(fields.filter((f) => !names.has(f)), [], `mail:${key}: names that are not its fields`);
    }
  });

  it('would catch a renamed setting (the check can fail)', () => {
    assert.equal(settingAt('alarmEmails'), undefined);
    assert.equal(settingAt('relay.retries'), undefined);
    assert.ok(settingAt('relay.retry.firstRetrySeconds'));
    assert.ok(namesUnder(settingAt('services')!).has('connectionsPerTask'));
  });
});
