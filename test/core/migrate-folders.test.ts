// Folder planning for imports: delimiter, INBOX, RFC 6154 attributes and common names,
// include/exclude/map, virtual and unselectable folders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planFolders, type FolderRules, type SourceFolder } from '../../core/migrate/folders.ts';
import { uidSet, parseImapUrl } from '../../core/migrate/imap-source.ts';
import type { SpecialUse } from '../../core/store/types.ts';

const folder = (path: string, attributes: string[] = [], delimiter: string | null = '.'): SourceFolder => ({ path, delimiter, attributes: new Set(attributes) });
const NO_RULES: FolderRules = { include: [], exclude: [], map: new Map() };
const DEFAULTS = new Map<SpecialUse, string>([['\\Sent', 'Sent'], ['\\Drafts', 'Drafts'], ['\\Trash', 'Trash'], ['\\Junk', 'Junk'], ['\\Archive', 'Archive']]);

const targets = (plans: ReturnType<typeof planFolders>) => Object.fromEntries(plans.map((p) => [p.name, p.kind === 'copy' ? p.target : `skip: ${p.reason}`]));

test('the source delimiter becomes ours; INBOX in any case is INBOX; a / inside a level is kept apart', () => {
  const plans = planFolders([folder('inbox'), folder('INBOX.Sub'), folder('A.B.C'), folder('x/y')], NO_RULES, DEFAULTS);
  assert.deepEqual(targets(plans), { INBOX: 'INBOX', 'INBOX/Sub': 'INBOX/Sub', 'A/B/C': 'A/B/C', 'x_y': 'x_y' });
});

test('special-use by attribute wins over a common name; children follow their parent', () => {
  const plans = planFolders(
    [folder('Sent'), folder('Gesendet', ['\\Sent']), folder('Gesendet.2019'), folder('Deleted Items'), folder('INBOX.Junk E-mail'), folder('Stuff', ['\\Archive'])],
    NO_RULES,
    new Map([...DEFAULTS, ['\\Archive', 'Archived Mail']]),
  );
  assert.deepEqual(targets(plans), {
    Sent: 'Sent', // not special here, but the same name as ours: merged into it
    Gesendet: 'Sent',
    'Gesendet/2019': 'Sent/2019',
    'Deleted Items': 'Trash',
    'INBOX/Junk E-mail': 'Junk',
    Stuff: 'Archived Mail',
  });
  const sent = plans.find((p) => p.name === 'Gesendet');
  assert.equal(sent?.kind === 'copy' ? sent.specialUse : null, '\\Sent');
});

test('virtual and unselectable folders are skipped with a reason; include, exclude and map apply', () => {
  const plans = planFolders(
    [folder('[Gmail]', ['\\Noselect'], '/'), folder('[Gmail]/All Mail', ['\\All'], '/'), folder('Work', [], '/'), folder('Work/Old', [], '/'), folder('Private', [], '/')],
    { include: ['Work*', '[Gmail]*'], exclude: ['*/Old'], map: new Map([['Work', 'Jobs/Work']]) },
    DEFAULTS,
  );
  assert.deepEqual(targets(plans), {
    '[Gmail]': 'skip: holds no messages (\\Noselect)',
    '[Gmail]/All Mail': 'skip: virtual folder (\\All)',
    Work: 'Jobs/Work',
    'Work/Old': 'skip: excluded',
    Private: 'skip: not included',
  });
});

test('UID sets are compact; source URLs are checked', () => {
  assert.equal(uidSet([1, 2, 3, 5, 7, 8]), '1:3,5,7:8');
  assert.deepEqual(parseImapUrl('imaps://alice%40example.com@imap.mail.us-east-1.awsapps.com'), { secure: true, host: 'imap.mail.us-east-1.awsapps.com', port: 993, user: 'alice@example.com' });
  assert.equal(parseImapUrl('imap://bob@[::1]:1143').port, 1143);
  assert.throws(() => parseImapUrl('imaps://a:secret@host'), /password in the URL/);
  assert.throws(() => parseImapUrl('pop3://a@host'), /imap:\/\/ or imaps:\/\//);
  assert.throws(() => parseImapUrl('imaps://host'), /names no user/);
});
