// v2 invites (src/core/invite.ts): a one-time key the operator grants, redeemed for the
// joiner's own key; old bearer-code links refused; the node's door checks before the ledger.
import { describe, expect, it } from 'vitest';
import { NobleSigner, nobleVerifier } from '../../src/core/keys.js';
import { encodeCanonical } from '../../src/core/codec.js';
import {
  checkInviteV2, createInviteLink, createInviteLinkSync, decodeInviteLink, encodeInviteLink, InviteError, redeemInvite,
} from '../../src/core/invite.js';
import { inviteMessage, signTxSync, type TxBody } from '../../src/core/tx.js';
import { ReplicaNet } from '../helpers/replica-net.js';

const chain = new Uint8Array(32).fill(3);
const operator = NobleSigner.fromSeed('invite operator');
const joiner = NobleSigner.fromSeed('invite joiner');
const thief = NobleSigner.fromSeed('invite thief');
const seed = (n: number) => new Uint8Array(48).fill(n);

describe('invite links', () => {
  it('round-trip, and redeem for exactly one key', async () => {
    const bytes = await createInviteLink(chain, seed(1), 'producer', 5_000, (m) => operator.sign(m));
    expect(bytes.length).toBeLessThan(200);
    const link = decodeInviteLink(bytes);
    expect(link).toMatchObject({ v: 2, role: 'producer', expires_ms: 5_000 });
    expect(encodeInviteLink(link)).toEqual(bytes);
    const invite = redeemInvite(chain, link, joiner.publicKey);
    expect(checkInviteV2(chain, operator.publicKey, invite, joiner.publicKey, nobleVerifier)).toBeNull();
    // The same invite presented for another key, on another chain, or granted by another key.
    expect(checkInviteV2(chain, operator.publicKey, invite, thief.publicKey, nobleVerifier)).toMatch(/proof/);
    expect(checkInviteV2(new Uint8Array(32), operator.publicKey, invite, joiner.publicKey, nobleVerifier)).toMatch(/operator/);
    expect(checkInviteV2(chain, thief.publicKey, invite, joiner.publicKey, nobleVerifier)).toMatch(/operator/);
    // Changing the role or expiry breaks the operator's signature.
    expect(checkInviteV2(chain, operator.publicKey, { ...invite, role: 'consumer' }, joiner.publicKey, nobleVerifier)).toMatch(/operator/);
    expect(checkInviteV2(chain, operator.publicKey, { ...invite, expires_ms: 9_999 }, joiner.publicKey, nobleVerifier)).toMatch(/operator/);
  });

  it('refuses old bearer-code links and anything else', () => {
    const code = new Uint8Array(16).fill(1);
    const v1 = encodeCanonical({ code, role: 'consumer', expires_ms: 5, sig: operator.signSync(inviteMessage(chain, code, 'consumer', 5)) });
    expect(() => decodeInviteLink(v1)).toThrow(/older version/);
    expect(() => decodeInviteLink(new Uint8Array([1, 2, 3]))).toThrow(InviteError);
    const good = decodeInviteLink(createInviteLinkSync(chain, seed(2), 'consumer', 5, (m) => operator.signSync(m)));
    for (const bad of [{ ...good, v: 1 }, { ...good, role: 'operator' }, { ...good, key: new Uint8Array(32) }, { ...good, extra: 1 }]) {
      expect(() => decodeInviteLink(encodeCanonical(bad as never))).toThrow(InviteError);
    }
  });
});

describe('invites at the door (Replica.submit)', () => {
  it('refuses a stolen, a v1, an expired and a used invite, the last without a signature check', async () => {
    const net = await ReplicaNet.create(3);
    net.elect(0);
    const r = net.replica(0);
    const link = decodeInviteLink(createInviteLinkSync(r.chain_id, seed(5), 'consumer', net.now + 60_000, (m) => net.signer(0).signSync(m)));
    const admit = (who: NobleSigner, invite: unknown) => {
      const body = { v: 1, chain: r.chain_id, kind: 'admit', from: who.id, seq: 0, member: who.id, pub: who.publicKey, role: 'consumer', invite };
      return { bytes: signTxSync(body as unknown as TxBody, who).bytes };
    };
    const honest = redeemInvite(r.chain_id, link, joiner.publicKey);
    expect(r.submit(admit(thief, honest).bytes, net.now)).toMatchObject({ ok: false, code: 'bad_invite' });
    const code = new Uint8Array(16).fill(7);
    const v1 = { code, role: 'consumer', expires_ms: net.now + 60_000, sig: net.signer(0).signSync(inviteMessage(r.chain_id, code, 'consumer', net.now + 60_000)) };
    expect(r.submit(admit(joiner, v1).bytes, net.now)).toMatchObject({ ok: false, code: 'bad_invite' });
    const stale = decodeInviteLink(createInviteLinkSync(r.chain_id, seed(6), 'consumer', net.now - 1_000_000, (m) => net.signer(0).signSync(m)));
    expect(r.submit(admit(joiner, redeemInvite(r.chain_id, stale, joiner.publicKey)).bytes, net.now)).toMatchObject({ ok: false, code: 'invite_expired' });
    expect(r.submit(admit(joiner, honest).bytes, net.now)).toMatchObject({ ok: true });
    net.settle();
    net.tick(3);
    expect(r.state.members.get(joiner.id)).toMatchObject({ voter: false, role: 'consumer' });
    const other = NobleSigner.fromSeed('second joiner');
    net.verify_calls = 0;
    expect(r.submit(admit(other, redeemInvite(r.chain_id, link, other.publicKey)).bytes, net.now)).toMatchObject({ ok: false, code: 'invite_used' });
    expect(net.verify_calls).toBe(0);
  });
});
