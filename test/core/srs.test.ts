// The Sender Rewriting Scheme (Shevek's SRS paper; Mail::SRS, libsrs2): the addresses we make,
// that they come back to the original sender, and that forged, altered or old ones do not.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { SenderRewriting } from '../../core/srs.ts';

const SECRET = 'a test secret of enough length';
const DAY = 86_400_000;
/** 2026-12-05: day 20792 since the epoch, 20792 mod 1024 = 312 = 9*32 + 24: "JY" in base32. */
const NOW = new Date('2026-12-05T10:00:00Z');
const srsAt = (now: Date, secrets = [SECRET]) => new SenderRewriting({ secrets, now: () => now });

describe('SRS0', () => {
  it('rewrites user@orig.example as SRS0=HHH=TT=orig.example=user@ours, the hash an HMAC-SHA1 of the lowercased fields', () => {
    const address = srsAt(NOW).forward('User@Orig.Example', 'fwd.example');
    const hash = createHmac('sha1', SECRET).update('jy').update('orig.example').update('user').digest('base64').slice(0, 6);
    assert.equal(address, `SRS0=${hash}=JY=Orig.Example=User@fwd.example`);
  });

  it('reverses to the original sender, on any later day up to 21', () => {
    const address = srsAt(NOW).forward('alice@orig.example', 'fwd.example');
    const local = address.slice(0, address.lastIndexOf('@'));
    for (const days of [0, 1, 20, 21]) {
      assert.deepEqual(srsAt(new Date(NOW.getTime() + days * DAY)).reverse(local), { kind: 'original', address: 'alice@orig.example' }, `${days} days later`);
    }
  });

  it('refuses it after 21 days, and a timestamp from the future (outside the window)', () => {
    const local = srsAt(NOW).forward('alice@orig.example', 'fwd.example').split('@')[0]!;
    assert.deepEqual(srsAt(new Date(NOW.getTime() + 22 * DAY)).reverse(local), { kind: 'invalid', reason: 'expired' });
    assert.deepEqual(srsAt(new Date(NOW.getTime() - 2 * DAY)).reverse(local), { kind: 'invalid', reason: 'expired' });
  });

  it('counts the age across the wrap of the 1024-day cycle', () => {
    // Day 1023 of a cycle ("77"), reversed two days later on day 1 of the next ("AB").
    const day1023 = new Date((Math.floor(NOW.getTime() / DAY / 1024) * 1024 + 1023) * DAY);
    const local = srsAt(day1023).forward('alice@orig.example', 'fwd.example').split('@')[0]!;
    assert.match(local, /^SRS0=[^=]+=77=/);
    assert.equal(srsAt(new Date(day1023.getTime() + 2 * DAY)).reverse(local).kind, 'original');
  });

  it('refuses a changed hash, domain, local part or timestamp, and a forged address', () => {
    const local = srsAt(NOW).forward('alice@orig.example', 'fwd.example').split('@')[0]!;
    const [tag, hash, tt, domain, user] = local.split('=') as [string, string, string, string, string];
    const flip = (h: string) => h.slice(0, -1) + (h.at(-1) === 'A' ? 'B' : 'A');
    const srs = srsAt(NOW);
    assert.deepEqual(srs.reverse([tag, flip(hash), tt, domain, user].join('=')), { kind: 'invalid', reason: 'bad-hash' });
    assert.deepEqual(srs.reverse([tag, hash, tt, 'evil.example', user].join('=')), { kind: 'invalid', reason: 'bad-hash' });
    assert.deepEqual(srs.reverse([tag, hash, tt, domain, 'mallory'].join('=')), { kind: 'invalid', reason: 'bad-hash' });
    assert.deepEqual(srs.reverse([tag, hash, 'JZ', domain, user].join('=')), { kind: 'invalid', reason: 'bad-hash' });
    assert.deepEqual(srs.reverse('SRS0=abcdef=JY=orig.example=alice'), { kind: 'invalid', reason: 'bad-hash' });
    assert.deepEqual(srs.reverse('SRS0=abcdef=JY'), { kind: 'invalid', reason: 'malformed' });
    assert.deepEqual(srs.reverse('alice'), { kind: 'not-srs' });
    // Another secret made it: not ours.
    const foreign = srsAt(NOW, ['another secret of enough length']).forward('alice@orig.example', 'fwd.example').split('@')[0]!;
    assert.deepEqual(srs.reverse(foreign), { kind: 'invalid', reason: 'bad-hash' });
  });

  it('compares hash and timestamp without regard to case, as the scheme requires (MTAs may change a local part\'s case)', () => {
    const local = srsAt(NOW).forward('alice@orig.example', 'fwd.example').split('@')[0]!;
    for (const variant of [local.toLowerCase(), local.toUpperCase()]) {
      const back = srsAt(NOW).reverse(variant);
      assert.equal(back.kind, 'original', variant);
      assert.equal(back.kind === 'original' && back.address.toLowerCase(), 'alice@orig.example');
    }
    // The other separators the scheme allows after the tag.
    assert.equal(srsAt(NOW).reverse(local.replace(/^SRS0=/, 'SRS0+')).kind, 'original');
  });

  it('still accepts addresses made with a previous secret (rotation), and signs with the first', () => {
    const old = srsAt(NOW, ['the previous secret, long enough']).forward('alice@orig.example', 'fwd.example').split('@')[0]!;
    const rotated = srsAt(NOW, [SECRET, 'the previous secret, long enough']);
    assert.equal(rotated.reverse(old).kind, 'original');
    assert.equal(srsAt(NOW).reverse(rotated.forward('alice@orig.example', 'fwd.example').split('@')[0]!).kind, 'original');
  });

  it('refuses a secret too short to protect anything', () => {
    assert.throws(() => new SenderRewriting({ secrets: ['short'] }), /16 characters/);
    assert.throws(() => new SenderRewriting({ secrets: [] }), /16 characters/);
  });
});

describe('SRS1', () => {
  it('forwarding an SRS0 address of another forwarder names that forwarder, and reverses to its SRS0 address', () => {
    const first = srsAt(NOW, ['first forwarder secret 123456']);
    const srs0 = first.forward('alice@orig.example', 'first.example');
    const second = srsAt(NOW);
    const srs1 = second.forward(srs0, 'fwd.example');
    const inner = srs0.slice(4, srs0.lastIndexOf('@')); // "=HHH=TT=orig.example=alice"
    const hash = createHmac('sha1', SECRET).update('first.example').update(inner.toLowerCase()).digest('base64').slice(0, 6);
    assert.equal(srs1, `SRS1=${hash}=first.example=${inner}@fwd.example`);
    assert.match(srs1, /^SRS1=[^=]+=first\.example==/);
    assert.deepEqual(second.reverse(srs1.split('@')[0]!), { kind: 'original', address: srs0 });
    // ... which the first forwarder takes back to alice.
    assert.deepEqual(first.reverse(srs0.split('@')[0]!), { kind: 'original', address: 'alice@orig.example' });
  });

  it('re-forwarding an SRS1 address keeps the first forwarder and re-hashes it under our secret', () => {
    const srs0 = srsAt(NOW, ['first forwarder secret 123456']).forward('alice@orig.example', 'first.example');
    const srs1 = srsAt(NOW, ['second forwarder secret 12345']).forward(srs0, 'second.example');
    const ours = srsAt(NOW).forward(srs1, 'fwd.example');
    assert.match(ours, /^SRS1=[^=]+=first\.example==/);
    assert.deepEqual(srsAt(NOW).reverse(ours.split('@')[0]!), { kind: 'original', address: srs0 });
  });

  it('refuses a tampered SRS1 address, and one without its parts', () => {
    const srs0 = srsAt(NOW, ['first forwarder secret 123456']).forward('alice@orig.example', 'first.example');
    const local = srsAt(NOW).forward(srs0, 'fwd.example').split('@')[0]!;
    assert.deepEqual(srsAt(NOW).reverse(local.replace('first.example', 'evil.example')), { kind: 'invalid', reason: 'bad-hash' });
    assert.deepEqual(srsAt(NOW).reverse('SRS1=abcdef=first.example'), { kind: 'invalid', reason: 'malformed' });
    assert.equal(srsAt(NOW).reverse(local.toLowerCase()).kind, 'original', 'case-insensitive like SRS0');
  });
});
