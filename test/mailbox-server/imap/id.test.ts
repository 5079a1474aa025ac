// ID (RFC 2971): name, version and vendor to imapflow, and the "event" field iOS Mail sends.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import packageJson from '../../../package.json' with { type: 'json' };
import { ALICE, type ImapWorld, imapWorldSuite, RawImap } from './helpers/imap-world.ts';

describe('IMAP ID', () => {
  let w: ImapWorld;
  imapWorldSuite((world) => (w = world));

  test('ID answers name and version to imapflow, and takes the "event" field iOS Mail sends', async (t) => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: w.port,
      secure: false,
      auth: { user: ALICE.user, pass: ALICE.password },
      clientInfo: { name: 'iPhone Mail', version: '22B83', os: 'iOS', 'os-version': '18.1 (22B83)' },
      logger: false,
      tls: { rejectUnauthorized: false },
    });
    t.after(() => client.close());
    await client.connect();
    assert.equal(client.serverInfo?.name, 'mailbox-server');
    assert.equal(client.serverInfo?.version, packageJson.version);
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    const lines = await c.command('ID ("name" "iPhone Mail" "version" "22B83" "os" "iOS" "os-version" "18.1 (22B83)" "event" "connect")', 'i1');
    assert.deepEqual(lines, [`* ID ("name" "mailbox-server" "version" "${packageJson.version}" "vendor" "serverless-mail")`, 'i1 OK ID completed']);
  });
});
