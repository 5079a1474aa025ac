// The store's contract suite, run against every DynamoDB we support (dynalite, DynamoDB Local),
// so nothing relies on one emulator's quirk.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ResourceNames } from '../../../core/config.ts';
import { createStore, StoreError, type FileResult, type Store } from '../../../core/store/index.ts';
import { fakeIndex, fileRequest } from './fixtures.ts';

export interface StoreWorld {
  readonly doc: DynamoDBDocumentClient;
  readonly tables: ResourceNames['tables'];
  close(): Promise<void>;
}

const rejectsWith = (promise: Promise<unknown>, code: StoreError['code']) =>
  assert.rejects(promise, (err: unknown) => err instanceof StoreError && err.code === code);

/** A fresh domain per test keeps the tests independent within one world. */
const freshDomain = () => `d${randomUUID().slice(0, 8)}.test`;

export function storeContract(label: string, startWorld: () => Promise<StoreWorld>): void {
  describe(`store contract (${label})`, () => {
    let world: StoreWorld;
    let store: Store;
    const orphans: string[] = [];
    before(async () => {
      world = await startWorld();
      store = createStore(world.doc, world.tables, { onOrphan: (key) => void orphans.push(key) });
    });
    after(() => world?.close());

    describe('directory', () => {
      test('domains: add, list, normalise, refuse duplicates and invalid names, remove', async () => {
        const domain = freshDomain();
        const added = await store.directory.addDomain(` ${domain.toUpperCase()}. `);
        assert.equal(added.name, domain);
        assert.ok((await store.directory.listDomains()).some((d) => d.name === domain));
        assert.equal(await store.directory.isLocalDomain(domain.toUpperCase()), true);
        assert.equal(await store.directory.isLocalDomain('nowhere.test'), false);
        await rejectsWith(store.directory.addDomain(domain), 'exists');
        await rejectsWith(store.directory.addDomain('not a domain'), 'invalid');
        await store.directory.removeDomain(domain);
        assert.equal(await store.directory.isLocalDomain(domain), false);
        await rejectsWith(store.directory.removeDomain(domain), 'not-found');
      });

      test('removeDomain refuses while accounts or aliases exist', async () => {
        const domain = freshDomain();
        await store.directory.addDomain(domain);
        await store.directory.addAccount(`a@${domain}`, 'pw-a');
        await rejectsWith(store.directory.removeDomain(domain), 'not-empty');
        await store.directory.addAlias(`@${domain}`, [`a@${domain}`]);
        await store.directory.removeAccount(`a@${domain}`);
        await rejectsWith(store.directory.removeDomain(domain), 'not-empty');
        await store.directory.removeAlias(`@${domain}`);
        await store.directory.removeDomain(domain);
      });

      test('accounts: created with INBOX and the special-use mailboxes, in key form', async () => {
        const domain = freshDomain();
        await store.directory.addDomain(domain);
        const account = await store.directory.addAccount(`Bob.Smith@${domain.toUpperCase()}`, 'correct horse', { quotaBytes: 1_000_000 });
        assert.deepEqual({ ...account, createdAt: '' }, { address: `bob.smith@${domain}`, domain, createdAt: '', quotaBytes: 1_000_000, sendAsDomains: [] });
        assert.deepEqual(await store.directory.getAccount(`BOB.SMITH@${domain}`), account);
        assert.equal(await store.directory.getAccount(`nobody@${domain}`), null);
        const mailboxes = await store.mailStore.listMailboxes(account.address);
        assert.deepEqual(
          mailboxes.map((m) => [m.name, m.specialUse]),
          [['INBOX', null], ['Archive', '\\Archive'], ['Drafts', '\\Drafts'], ['Junk', '\\Junk'], ['Sent', '\\Sent'], ['Trash', '\\Trash']],
        );
        for (const m of mailboxes) {
          assert.equal(m.uidNext, 1);
          assert.ok(m.uidValidity > 0 && m.uidValidity < 2 ** 32);
        }
        assert.deepEqual((await store.directory.listAccounts(domain)).map((a) => a.address), [account.address]);
        assert.ok((await store.directory.listAccounts()).some((a) => a.address === account.address));
      });

      test('accounts: errors for unknown domain, duplicates, bad input; removal takes the mailboxes', async () => {
        const domain = freshDomain();
        await rejectsWith(store.directory.addAccount(`x@${domain}`, 'pw'), 'not-found');
        await store.directory.addDomain(domain);
        await rejectsWith(store.directory.addAccount('no-at-sign', 'pw'), 'invalid');
        await rejectsWith(store.directory.addAccount(`x@${domain}`, ''), 'invalid');
        await rejectsWith(store.directory.addAccount(`x@${domain}`, 'pw', { quotaBytes: -1 }), 'invalid');
        await store.directory.addAccount(`x@${domain}`, 'pw');
        await rejectsWith(store.directory.addAccount(`X@${domain}`, 'pw'), 'exists');
        await rejectsWith(store.directory.setPassword(`y@${domain}`, 'pw'), 'not-found');
        const message = await store.mailStore.fileMessage(fileRequest(`x@${domain}`, `remove-${domain}`));
        assert.equal(await store.mailStore.blobReferences(`raw/2026/11/02/remove-${domain}.eml`), 1);
        await store.directory.removeAccount(`x@${domain}`);
        assert.equal(await store.directory.getAccount(`x@${domain}`), null);
        assert.deepEqual(await store.mailStore.listMailboxes(`x@${domain}`), []);
        assert.equal(message.uid, 1);
        assert.equal(await store.mailStore.blobReferences(`raw/2026/11/02/remove-${domain}.eml`), 0);
        assert.ok(orphans.includes(`raw/2026/11/02/remove-${domain}.eml`));
        await rejectsWith(store.directory.removeAccount(`x@${domain}`), 'not-found');
      });

      test('passwords: right, wrong, changed, unknown account, and never stored in clear', async () => {
        const domain = freshDomain();
        await store.directory.addDomain(domain);
        await store.directory.addAccount(`p@${domain}`, 'first secret');
        assert.equal((await store.directory.verifyPassword(`P@${domain}`, 'first secret'))?.address, `p@${domain}`);
        assert.equal(await store.directory.verifyPassword(`p@${domain}`, 'First secret'), null);
        assert.equal(await store.directory.verifyPassword(`ghost@${domain}`, 'first secret'), null);
        assert.equal(await store.directory.verifyPassword('not an address', 'first secret'), null);
        await store.directory.setPassword(`p@${domain}`, 'second secret');
        assert.equal(await store.directory.verifyPassword(`p@${domain}`, 'first secret'), null);
        assert.ok(await store.directory.verifyPassword(`p@${domain}`, 'second secret'));
      });

      test('aliases: validation, listing, catch-all', async () => {
        const domain = freshDomain();
        await rejectsWith(store.directory.addAlias(`a@${domain}`, ['x@remote.test']), 'not-found');
        await store.directory.addDomain(domain);
        await store.directory.addAccount(`real@${domain}`, 'pw');
        await rejectsWith(store.directory.addAlias(`a@${domain}`, []), 'invalid');
        await rejectsWith(store.directory.addAlias(`a@${domain}`, ['not an address']), 'invalid');
        await rejectsWith(store.directory.addAlias(`a@${domain}`, [`typo@${domain}`]), 'invalid');
        await rejectsWith(store.directory.addAlias(`a@${domain}`, [`A@${domain}`]), 'invalid');
        await rejectsWith(store.directory.addAlias(`real@${domain}`, [`x@remote.test`]), 'exists');
        const alias = await store.directory.addAlias(`Sales@${domain}`, [`REAL@${domain}`, `real@${domain}`, 'Partner@Remote.TEST']);
        assert.deepEqual(alias, { address: `sales@${domain}`, domain, targets: [`real@${domain}`, 'Partner@remote.test'] });
        await rejectsWith(store.directory.addAlias(`sales@${domain}`, [`real@${domain}`]), 'exists');
        await rejectsWith(store.directory.addAccount(`sales@${domain}`, 'pw'), 'exists');
        await store.directory.addAlias(`@${domain.toUpperCase()}`, [`real@${domain}`]);
        assert.deepEqual((await store.directory.listAliases(domain)).map((a) => a.address).sort(), [`@${domain}`, `sales@${domain}`]);
        await store.directory.removeAlias(`SALES@${domain}`);
        await rejectsWith(store.directory.removeAlias(`sales@${domain}`), 'not-found');
        assert.deepEqual((await store.directory.listAliases(domain)).map((a) => a.address), [`@${domain}`]);
      });

      test('resolveRecipient: account, alias, chain, loop, catch-all, unknown, remote, case', async () => {
        const domain = freshDomain();
        const d = store.directory;
        await d.addDomain(domain);
        await d.addAccount(`ann@${domain}`, 'pw');
        await d.addAccount(`ben@${domain}`, 'pw');
        assert.deepEqual(await d.resolveRecipient(`Ann@${domain.toUpperCase()}`), { kind: 'local', accounts: [`ann@${domain}`], forwards: [] });
        await d.addAlias(`team@${domain}`, [`ann@${domain}`, `ben@${domain}`, 'Out@Remote.test']);
        await d.addAlias(`all@${domain}`, [`team@${domain}`, `ann@${domain}`]);
        assert.deepEqual(await d.resolveRecipient(`ALL@${domain}`), {
          kind: 'local',
          accounts: [`ann@${domain}`, `ben@${domain}`],
          forwards: ['Out@remote.test'],
        });
        // Chains are followed for MAX_ALIAS_DEPTH (5) hops: c2 → … → c6 → ann resolves, c1 (6 hops) is cut off.
        await d.addAlias(`c6@${domain}`, [`ann@${domain}`]);
        for (let i = 5; i >= 1; i--) await d.addAlias(`c${i}@${domain}`, [`c${i + 1}@${domain}`]);
        assert.deepEqual(await d.resolveRecipient(`c2@${domain}`), { kind: 'local', accounts: [`ann@${domain}`], forwards: [] });
        assert.deepEqual(await d.resolveRecipient(`c1@${domain}`), { kind: 'unknown-local' });
        // A loop through the catch-all ends instead of spinning.
        assert.deepEqual(await d.resolveRecipient(`nobody@${domain}`), { kind: 'unknown-local' });
        await d.addAlias(`loop@${domain}`, [`team@${domain}`]);
        await d.addAlias(`@${domain}`, [`loop@${domain}`, `ben@${domain}`]);
        assert.deepEqual(await d.resolveRecipient(`nobody@${domain}`), {
          kind: 'local',
          accounts: [`ann@${domain}`, `ben@${domain}`],
          forwards: ['Out@remote.test'],
        });
        // An account wins over the catch-all.
        assert.deepEqual(await d.resolveRecipient(`ann@${domain}`), { kind: 'local', accounts: [`ann@${domain}`], forwards: [] });
        assert.deepEqual(await d.resolveRecipient('someone@Elsewhere.Example'), { kind: 'remote', domain: 'elsewhere.example' });
        await rejectsWith(d.resolveRecipient('not an address'), 'invalid');
      });
    });

    describe('mailboxes', () => {
      test('create, INBOX case-insensitive, uniqueness, invalid names, subscribe, rename, delete', async () => {
        const domain = freshDomain();
        await store.directory.addDomain(domain);
        const account = (await store.directory.addAccount(`m@${domain}`, 'pw')).address;
        const ms = store.mailStore;
        assert.equal((await ms.getMailbox(account, 'inbox'))?.name, 'INBOX');
        await rejectsWith(ms.createMailbox(account, 'Inbox'), 'exists');
        await rejectsWith(ms.createMailbox(account, 'Sent'), 'exists');
        for (const bad of ['', '/lead', 'trail/', 'a//b', 'wild*', 'ctl\x01']) await rejectsWith(ms.createMailbox(account, bad), 'invalid');
        const work = await ms.createMailbox(account, 'Work');
        const child = await ms.createMailbox(account, 'Work/Projekte/Übersicht');
        assert.equal(child.name, 'Work/Projekte/Übersicht');
        assert.notEqual(work.id, child.id);
        const inbox = (await ms.getMailbox(account, 'INBOX'))!;
        assert.notEqual(work.uidValidity, inbox.uidValidity);
        await ms.subscribe(account, 'Work', false);
        assert.equal((await ms.getMailbox(account, 'Work'))?.subscribed, false);
        await rejectsWith(ms.subscribe(account, 'Nope', true), 'not-found');

        const renamed = await ms.renameMailbox(account, 'Work', 'Job');
        assert.equal(renamed.id, work.id);
        assert.equal(renamed.uidValidity, work.uidValidity);
        assert.equal(await ms.getMailbox(account, 'Work'), null);
        assert.equal((await ms.getMailbox(account, 'Job/Projekte/Übersicht'))?.id, child.id);
        await rejectsWith(ms.renameMailbox(account, 'Job', 'Sent'), 'exists');
        await rejectsWith(ms.renameMailbox(account, 'INBOX', 'Old'), 'invalid');
        await rejectsWith(ms.renameMailbox(account, 'Nope', 'Other'), 'not-found');

        // A name deleted and created again gets a new UIDVALIDITY, even within the same second (RFC 3501 §2.3.1.1).
        await ms.deleteMailbox(account, 'Job');
        assert.equal(await ms.getMailbox(account, 'Job'), null);
        const again = await ms.createMailbox(account, 'Job');
        assert.notEqual(again.uidValidity, work.uidValidity);
        assert.notEqual(again.id, work.id);
        await rejectsWith(ms.deleteMailbox(account, 'INBOX'), 'invalid');
        await rejectsWith(ms.deleteMailbox(account, 'Nope'), 'not-found');
        assert.deepEqual(
          (await ms.listMailboxes(account)).map((m) => m.name),
          ['INBOX', 'Archive', 'Drafts', 'Job', 'Job/Projekte/Übersicht', 'Junk', 'Sent', 'Trash'],
        );
      });

      test('filing by special use (RFC 6154) finds that mailbox whatever its name, INBOX once it is deleted, and a new one of that use', async () => {
        const domain = freshDomain();
        await store.directory.addDomain(domain);
        const account = (await store.directory.addAccount(`u@${domain}`, 'pw')).address;
        const ms = store.mailStore;
        const toJunk = (key: string) => ms.fileMessage(fileRequest(account, key, { specialUse: '\\Junk' }));
        await ms.renameMailbox(account, 'Junk', 'Spam');
        const spam = (await ms.getMailbox(account, 'Spam'))!;
        assert.equal((await toJunk('j1')).mailboxId, spam.id);
        await ms.deleteMailbox(account, 'Spam');
        const inbox = (await ms.getMailbox(account, 'INBOX'))!;
        assert.equal((await toJunk('j2')).mailboxId, inbox.id);
        const made = await ms.createMailbox(account, 'Unwanted', '\\Junk');
        assert.equal((await toJunk('j3')).mailboxId, made.id);
        assert.deepEqual((await ms.listMessages(account, 'Unwanted')).length, 1);
      });
    });

    describe('messages', () => {
      let account: string;
      before(async () => {
        const domain = freshDomain();
        await store.directory.addDomain(domain);
        account = (await store.directory.addAccount(`msg@${domain}`, 'pw')).address;
      });

      test('fileMessage assigns ascending UIDs and is idempotent per delivery key and mailbox', async () => {
        const ms = store.mailStore;
        const first = await ms.fileMessage(fileRequest(account, 'k1', { flags: ['\\Seen', '\\Seen'] }));
        const second = await ms.fileMessage(fileRequest(account, 'k2'));
        assert.deepEqual([first.uid, first.duplicate, second.uid, second.duplicate], [1, false, 2, false]);
        assert.deepEqual(await ms.fileMessage(fileRequest(account, 'k1')), { ...first, duplicate: true });
        // The same key into another mailbox is another delivery.
        const sent = await ms.fileMessage(fileRequest(account, 'k1', { mailbox: 'Sent' }));
        assert.deepEqual([sent.uid, sent.duplicate], [1, false]);
        assert.notEqual(sent.mailboxId, first.mailboxId);
        const listed = await ms.listMessages(account, 'inbox');
        assert.deepEqual(listed.map((m) => m.uid), [1, 2]);
        assert.deepEqual(listed[0]!.flags, ['\\Seen']);
        assert.deepEqual(listed[0]!.index, fakeIndex('message k1'));
        assert.ok(listed[1]!.modSeq > listed[0]!.modSeq);
        const inbox = (await ms.getMailbox(account, 'INBOX'))!;
        assert.equal(inbox.uidNext, 3);
        assert.ok(inbox.highestModSeq >= listed[1]!.modSeq);
        assert.equal(await ms.blobReferences('raw/2026/11/02/k1.eml'), 2);
        assert.deepEqual((await ms.listMessages(account, 'INBOX', { fromUid: 2 })).map((m) => m.uid), [2]);
        assert.deepEqual((await ms.listMessages(account, 'INBOX', { limit: 1 })).map((m) => m.uid), [1]);
        await rejectsWith(ms.fileMessage(fileRequest(account, 'k9', { mailbox: 'Nope' })), 'not-found');
      });

      test('a writer that died after its message put but before recording it: redelivery finds the message', async () => {
        const crashing = createStore(world.doc, world.tables, {
          hooks: { afterMessagePut: () => Promise.reject(new Error('simulated crash')) },
        });
        await assert.rejects(crashing.mailStore.fileMessage(fileRequest(account, 'crash-1', { mailbox: 'Archive' })), /simulated crash/);
        // Not yet visible: uidNext was never advanced.
        assert.deepEqual(await store.mailStore.listMessages(account, 'Archive'), []);
        const redelivered = await store.mailStore.fileMessage(fileRequest(account, 'crash-1', { mailbox: 'Archive' }));
        assert.deepEqual([redelivered.uid, redelivered.duplicate], [1, true]);
        // The redelivery finishes the dead writer's step: the message shows at once, not only
        // when some other message comes to this mailbox.
        assert.deepEqual((await store.mailStore.listMessages(account, 'Archive')).map((m) => m.uid), [1]);
        const next = await store.mailStore.fileMessage(fileRequest(account, 'crash-2', { mailbox: 'Archive' }));
        assert.deepEqual([next.uid, next.duplicate], [2, false]);
        assert.deepEqual((await store.mailStore.listMessages(account, 'Archive')).map((m) => m.uid), [1, 2]);
        assert.equal(await store.mailStore.blobReferences('raw/2026/11/02/crash-1.eml'), 1);
      });

      test('a writer that died after claiming a UID but before its put: the redelivery files the message once', async () => {
        await store.mailStore.createMailbox(account, 'Notes');
        const crashing = createStore(world.doc, world.tables, {
          hooks: { beforeMessagePut: () => Promise.reject(new Error('simulated crash')) },
        });
        await assert.rejects(crashing.mailStore.fileMessage(fileRequest(account, 'claim-1', { mailbox: 'Notes' })), /simulated crash/);
        assert.deepEqual(await store.mailStore.listMessages(account, 'Notes'), []);
        // The claim (and the blob reference it counted) stands, pointing at a UID with nothing there.
        assert.equal(await store.mailStore.blobReferences('raw/2026/11/02/claim-1.eml'), 1);
        const redelivered = await store.mailStore.fileMessage(fileRequest(account, 'claim-1', { mailbox: 'Notes' }));
        assert.equal(redelivered.duplicate, false);
        const listed = await store.mailStore.listMessages(account, 'Notes');
        assert.deepEqual(listed.map((m) => m.uid), [redelivered.uid], 'filed once and visible');
        assert.deepEqual(await store.mailStore.fileMessage(fileRequest(account, 'claim-1', { mailbox: 'Notes' })), { ...redelivered, duplicate: true });
        assert.equal(await store.mailStore.blobReferences('raw/2026/11/02/claim-1.eml'), 1, 'counted once, by the first claim');
        const next = await store.mailStore.fileMessage(fileRequest(account, 'claim-2', { mailbox: 'Notes' }));
        assert.equal(next.uid, redelivered.uid + 1);
        assert.deepEqual((await store.mailStore.listMessages(account, 'Notes')).map((m) => m.uid), [redelivered.uid, next.uid]);
      });

      test('a stalled writer whose claim a redelivery took over cannot land its copy afterwards', async () => {
        let calls = 0;
        let reached!: () => void;
        const atPut = new Promise<void>((resolve) => (reached = resolve));
        let resume!: () => void;
        const gate = new Promise<void>((resolve) => (resume = resolve));
        const stalling = createStore(world.doc, world.tables, {
          hooks: { beforeMessagePut: () => (++calls === 2 && reached(), gate) },
        });
        await store.mailStore.createMailbox(account, 'Stalled');
        // A batch of two hangs between its claims (UIDs 1 and 2) and its puts.
        const first = stalling.mailStore.fileMessages(['stall-1', 'stall-2'].map((key) => fileRequest(account, key, { mailbox: 'Stalled' })));
        await atPut;
        // SQS redelivers the second alone: it reserves UID 1, finds its claim at the empty UID 2,
        // fills UID 2 with a tombstone so the stalled put can never land there, and takes the claim.
        const second = await store.mailStore.fileMessage(fileRequest(account, 'stall-2', { mailbox: 'Stalled' }));
        assert.deepEqual([second.uid, second.duplicate], [1, false]);
        resume();
        const late = await first;
        assert.ok(late.every((r) => r.status === 'fulfilled'));
        const [one, two] = late.map((r) => (r as PromiseFulfilledResult<FileResult>).value);
        assert.deepEqual(two, { ...second, duplicate: true }, 'the late writer finds the delivery where the claim now points');
        assert.equal(one!.duplicate, false);
        const live = await store.mailStore.listMessages(account, 'Stalled');
        assert.deepEqual(live.map((m) => [m.uid, m.index.envelope.subject]), [[1, 'message stall-2'], [one!.uid, 'message stall-1']]);
        assert.ok(one!.uid > 2, 'UID 2 holds the tombstone, never a message');
        assert.equal((await store.mailStore.getMailbox(account, 'Stalled'))!.uidNext, one!.uid + 1);
        assert.equal(await store.mailStore.blobReferences('raw/2026/11/02/stall-2.eml'), 1);
        assert.equal(await store.mailStore.blobReferences('raw/2026/11/02/stall-1.eml'), 1);
      });

      test('a redelivery about to fill an empty claimed UID finds the stalled writer landed there first: a duplicate, not a second copy', async () => {
        let calls = 0;
        let reached!: () => void;
        const atPut = new Promise<void>((resolve) => (reached = resolve));
        let resume!: () => void;
        const gate = new Promise<void>((resolve) => (resume = resolve));
        let landed!: () => void;
        const secondLanded = new Promise<void>((resolve) => (landed = resolve));
        const stalling = createStore(world.doc, world.tables, {
          hooks: { beforeMessagePut: () => (++calls === 2 && reached(), gate), afterMessagePut: (uid) => void (uid === 2 && landed()) },
        });
        // The redelivery's client lets the stalled writer land at UID 2 just before its tombstone goes there.
        const racing = new Proxy(world.doc, {
          get(target, prop) {
            if (prop !== 'send') return Reflect.get(target, prop, target);
            return async (command: { input: { TableName?: string; Item?: Record<string, unknown> } }) => {
              const item = command.input.Item;
              if (command.input.TableName === world.tables.messages && item?.vacant && item.uid === 2) {
                resume();
                await secondLanded;
              }
              return target.send(command as never);
            };
          },
        });
        await store.mailStore.createMailbox(account, 'Raced');
        const first = stalling.mailStore.fileMessages(['race-a', 'race-b'].map((key) => fileRequest(account, key, { mailbox: 'Raced' })));
        await atPut;
        const second = await createStore(racing, world.tables).mailStore.fileMessage(fileRequest(account, 'race-b', { mailbox: 'Raced' }));
        assert.deepEqual([second.uid, second.duplicate], [2, true]);
        const late = await first;
        assert.deepEqual(late.map((r) => (r as PromiseFulfilledResult<FileResult>).value).map((r) => [r.uid, r.duplicate]), [[1, false], [2, false]]);
        const live = await store.mailStore.listMessages(account, 'Raced');
        assert.deepEqual(live.map((m) => [m.uid, m.index.envelope.subject]), [[1, 'message race-a'], [2, 'message race-b']]);
        assert.equal(await store.mailStore.blobReferences('raw/2026/11/02/race-b.eml'), 1);
      });

      test('blob references never undercount: one per message, a duplicate adds none, COPY-like fresh keys count and give back', async () => {
        const ms = store.mailStore;
        await ms.createMailbox(account, 'Refs');
        const blobKey = 'raw/2026/11/02/refs-shared.eml';
        const a = await ms.fileMessage(fileRequest(account, 'refs-1', { mailbox: 'Refs', blobKey }));
        const b = await ms.fileMessage(fileRequest(account, 'refs-1', { mailbox: 'INBOX', blobKey }));
        assert.equal(await ms.blobReferences(blobKey), 2, 'two mailboxes, two messages');
        await ms.fileMessage(fileRequest(account, 'refs-1', { mailbox: 'Refs', blobKey }));
        assert.equal(await ms.blobReferences(blobKey), 2, 'a redelivery counts nothing');
        const copy = await ms.fileMessage(fileRequest(account, 'refs-copy', { mailbox: 'Refs', blobKey, freshKey: true }));
        assert.equal(await ms.blobReferences(blobKey), 3);
        await rejectsWith(ms.fileMessage(fileRequest(account, 'refs-gone', { mailbox: 'Nope', blobKey, freshKey: true })), 'not-found');
        assert.equal(await ms.blobReferences(blobKey), 3, 'nothing counted for a mailbox that does not exist');
        assert.deepEqual(await ms.expunge(account, a.mailboxId, [a.uid, copy.uid]), [a.uid, copy.uid]);
        assert.equal(await ms.blobReferences(blobKey), 1);
        assert.ok(!orphans.includes(blobKey));
        assert.deepEqual(await ms.expunge(account, b.mailboxId, [b.uid]), [b.uid]);
        assert.equal(await ms.blobReferences(blobKey), 0);
        assert.ok(orphans.includes(blobKey));
        // Expunged, then redelivered: still the one delivery, not filed again.
        assert.deepEqual(await ms.fileMessage(fileRequest(account, 'refs-1', { mailbox: 'Refs', blobKey })), { ...a, duplicate: true });
        assert.deepEqual(await ms.listMessages(account, 'Refs'), []);
      });

      test('a caller that has just resolved the mailbox passes its id: no lookup, and still not-found once deleted or for another account', async () => {
        const ms = store.mailStore;
        const box = await ms.createMailbox(account, 'Resolved');
        const filed = await ms.fileMessage(fileRequest(account, 'resolved-1', { mailbox: 'Resolved', mailboxId: box.id }));
        assert.deepEqual([filed.mailboxId, filed.uid], [box.id, 1]);
        const other = `other-${randomUUID().slice(0, 6)}@${account.split('@')[1]}`;
        await store.directory.addAccount(other, 'pw-other');
        await rejectsWith(ms.fileMessage(fileRequest(other, 'resolved-2', { mailbox: 'Resolved', mailboxId: box.id })), 'not-found');
        await ms.deleteMailbox(account, 'Resolved');
        await rejectsWith(ms.fileMessage(fileRequest(account, 'resolved-3', { mailbox: 'Resolved', mailboxId: box.id })), 'not-found');
        assert.equal(await ms.blobReferences('raw/2026/11/02/resolved-3.eml'), 0);
      });

      test('flags with mod-sequences, UNCHANGEDSINCE, expunge leaves a tombstone and the UID is never reused', async () => {
        const ms = store.mailStore;
        const a = await ms.fileMessage(fileRequest(account, 'f1', { mailbox: 'Drafts' }));
        const b = await ms.fileMessage(fileRequest(account, 'f2', { mailbox: 'Drafts', blobKey: 'raw/shared.eml' }));
        const c = await ms.fileMessage(fileRequest(account, 'f3', { mailbox: 'Drafts', blobKey: 'raw/shared.eml' }));
        const before = await ms.getMessages(a.mailboxId, [a.uid, b.uid, 99]);
        assert.deepEqual(before.map((m) => m.uid), [1, 2]);
        const added = await ms.setFlags(account, a.mailboxId, [1, 2], { op: 'add', flags: ['\\Seen', '$Label'] });
        assert.deepEqual(added.updated.map((u) => [u.uid, u.flags]), [[1, ['\\Seen', '$Label']], [2, ['\\Seen', '$Label']]]);
        assert.ok(added.updated[1]!.modSeq > added.updated[0]!.modSeq);
        assert.ok(added.updated[0]!.modSeq > before[1]!.modSeq);
        const unchanged = await ms.setFlags(account, a.mailboxId, [1], { op: 'add', flags: ['\\Seen'] });
        assert.deepEqual(unchanged, { updated: [], modified: [] });
        const conditional = await ms.setFlags(account, a.mailboxId, [1, 2], { op: 'remove', flags: ['$Label'] }, { unchangedSince: added.updated[0]!.modSeq });
        assert.deepEqual(conditional.modified, [2]);
        assert.deepEqual(conditional.updated.map((u) => [u.uid, u.flags]), [[1, ['\\Seen']]]);
        const replaced = await ms.setFlags(account, a.mailboxId, [2], { op: 'replace', flags: ['\\Flagged'] });
        assert.deepEqual(replaced.updated[0]!.flags, ['\\Flagged']);
        assert.ok((await ms.getMailboxById(account, a.mailboxId))!.highestModSeq >= replaced.updated[0]!.modSeq);

        assert.equal(await ms.blobReferences('raw/shared.eml'), 2);
        assert.deepEqual(await ms.expunge(account, a.mailboxId, [2, 1]), [1, 2]);
        assert.deepEqual(await ms.expunge(account, a.mailboxId, [1]), []);
        assert.deepEqual((await ms.listMessages(account, 'Drafts')).map((m) => m.uid), [c.uid]);
        assert.deepEqual(await ms.getMessages(a.mailboxId, [1, 2]), []);
        assert.deepEqual(await ms.setFlags(account, a.mailboxId, [1], { op: 'add', flags: ['\\Seen'] }), { updated: [], modified: [] });
        assert.equal(await ms.blobReferences('raw/shared.eml'), 1);
        assert.ok(orphans.includes('raw/2026/11/02/f1.eml'));
        assert.ok(!orphans.includes('raw/shared.eml'));
        assert.equal((await ms.fileMessage(fileRequest(account, 'f4', { mailbox: 'Drafts' }))).uid, 4);

        // A writer holding a stale uidNext (it read 1 long ago) finds the tombstone, not a free UID.
        await world.doc.send(
          new UpdateCommand({
            TableName: world.tables.mailboxes,
            Key: { pk: account, sk: `mbox#${a.mailboxId}` },
            UpdateExpression: 'SET uidNext = :one',
            ExpressionAttributeValues: { ':one': 1 },
          }),
        );
        const afterStale = await ms.fileMessage(fileRequest(account, 'f5', { mailbox: 'Drafts' }));
        assert.equal(afterStale.uid, 5);
      });

      test('the same delivery filed concurrently by several writers gives one message', async () => {
        const writers = Array.from({ length: 4 }, () => createStore(world.doc, world.tables).mailStore);
        const results = await Promise.all(writers.map((w) => w.fileMessage(fileRequest(account, 'race-1', { mailbox: 'Trash' }))));
        const live = await store.mailStore.listMessages(account, 'Trash');
        assert.equal(live.length, 1);
        assert.deepEqual(new Set(results.map((r) => r.uid)), new Set([live[0]!.uid]));
        assert.equal(results.filter((r) => !r.duplicate).length, 1);
        assert.equal(await store.mailStore.blobReferences('raw/2026/11/02/race-1.eml'), 1);
        assert.equal((await store.mailStore.fileMessage(fileRequest(account, 'race-1', { mailbox: 'Trash' }))).uid, live[0]!.uid);
      });

      test('listStateChanges: flag changes and tombstones above a modseq; a new message writes no byModSeq entry', async () => {
        const ms = store.mailStore;
        const mailbox = await ms.createMailbox(account, 'Changes');
        const one = await ms.fileMessage(fileRequest(account, 'ch1', { mailbox: 'Changes', size: 111 }));
        const two = await ms.fileMessage(fileRequest(account, 'ch2', { mailbox: 'Changes' }));
        const three = await ms.fileMessage(fileRequest(account, 'ch3', { mailbox: 'Changes' }));
        // New messages are learnt from the UID range above a reader's uidNext, not from the index.
        assert.deepEqual(await ms.listStateChanges(mailbox.id, 0), [], 'no index entry for a message unchanged since filed');
        const raw = await world.doc.send(new GetCommand({ TableName: world.tables.messages, Key: { mailboxId: mailbox.id, uid: one.uid }, ConsistentRead: true }));
        assert.equal(raw.Item!.modSeq, undefined, 'the index key is not set by filing');
        // Their mod-sequences still ascend, read from the base table.
        const states = await ms.listMessageStates(mailbox.id, Number.MAX_SAFE_INTEGER);
        assert.deepEqual(states.map((s) => s.uid), [one.uid, two.uid, three.uid]);
        assert.deepEqual(states[0], { uid: one.uid, flags: [], modSeq: states[0]!.modSeq, size: 111, internalDate: '2026-11-02T10:00:00.000Z', expunged: false });
        assert.ok(states[0]!.modSeq > 0 && states.every((s, i) => i === 0 || s.modSeq > states[i - 1]!.modSeq));
        assert.equal((await ms.getMessages(mailbox.id, [two.uid]))[0]!.modSeq, states[1]!.modSeq);
        const mark = (await ms.getMailboxById(account, mailbox.id))!.highestModSeq;
        assert.ok(mark >= states[2]!.modSeq);

        const flagged = await ms.setFlags(account, mailbox.id, [one.uid], { op: 'add', flags: ['\\Flagged'] });
        assert.ok(flagged.updated[0]!.modSeq > mark);
        await ms.expunge(account, mailbox.id, [two.uid]);
        const four = await ms.fileMessage(fileRequest(account, 'ch4', { mailbox: 'Changes' }));
        const changes = await ms.listStateChanges(mailbox.id, mark);
        // In modSeq order: the flag change gave uid 1 its entry, the expunge left a tombstone; the new uid 4 has none.
        assert.deepEqual(changes.map((s) => [s.uid, s.expunged, s.flags]), [[one.uid, false, ['\\Flagged']], [two.uid, true, []]]);
        assert.equal(changes[0]!.modSeq, flagged.updated[0]!.modSeq);
        assert.ok(changes.every((s, i) => i === 0 || s.modSeq > changes[i - 1]!.modSeq));
        assert.ok(changes.every((s) => s.modSeq > mark));
        assert.deepEqual(await ms.listStateChanges(mailbox.id, changes[1]!.modSeq), []);
        assert.ok((await ms.listMessageStates(mailbox.id, Number.MAX_SAFE_INTEGER)).find((s) => s.uid === four.uid)!.modSeq > changes[1]!.modSeq);
        // A flag change on a message never changed before is conditional on it still having no entry.
        const again = await ms.setFlags(account, mailbox.id, [three.uid], { op: 'add', flags: ['\\Seen'] }, { unchangedSince: states[2]!.modSeq });
        assert.deepEqual(again.updated.map((u) => u.uid), [three.uid]);
        assert.deepEqual((await ms.listStateChanges(mailbox.id, changes[1]!.modSeq)).map((s) => [s.uid, s.flags]), [[three.uid, ['\\Seen']]]);
      });

      test('a large MIME index is stored compressed and read back intact', async () => {
        const index = fakeIndex('big');
        const huge = { ...index, envelope: { ...index.envelope, subject: 'x'.repeat(200_000) + 'y'.repeat(200_000) } };
        const filed = await store.mailStore.fileMessage(fileRequest(account, 'big-1', { mailbox: 'Junk', index: huge }));
        const [message] = await store.mailStore.getMessages(filed.mailboxId, [filed.uid]);
        assert.deepEqual(message!.index, huge);
      });
    });
  });
}
