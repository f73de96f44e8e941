// Admission control (issue 17, Replica.busy): while the grid is saturated — the last blocks
// committed were full — every node refuses its clients' new transactions with `busy`, before
// any work; relays and the node's own duties still enter; the refusal lifts by itself. And a
// full mempool refuses before checking a signature (cheap checks first), and so does an
// account's full share of it. And the second signal: a standing queue of this entry's own
// transactions (enough of them waiting, the oldest too long) refuses its clients too; its own
// transactions are handed to the leader again until applied, and stale or expired ones leave.
import { describe, expect, it } from 'vitest';
import { ADMISSION } from '../../src/core/replica.js';
import { encodeSignedTx } from '../../src/core/tx.js';
import { ReplicaNet } from '../helpers/replica-net.js';

const FULL = 4; // block_max_txs of these grids: four transactions make a full block

async function grid(opts: Parameters<typeof ReplicaNet.create>[1] = {}): Promise<ReplicaNet> {
  const net = await ReplicaNet.create(3, { params: { block_max_txs: FULL }, ...opts });
  net.elect(0);
  net.submit(0, { kind: 'mint', to: net.ids[1], amount: 1_000_000, ref: 'deposit' });
  return net;
}

/** `blocks` blocks of `per_block` transfers from n1, each committed on every node. */
function commitBlocks(net: ReplicaNet, blocks: number, per_block: number): void {
  const leader = net.replica(0);
  for (let b = 0; b < blocks; b++) {
    const seq0 = net.replica(1).nextSeq(net.ids[1]!);
    for (let i = 0; i < per_block; i++) {
      const tx = net.tx(1, { kind: 'transfer', to: net.ids[2], amount: 1, memo: '' }, seq0 + i);
      expect(leader.submit(tx.bytes, net.clock(net.ids[0]!)).ok).toBe(true);
    }
    net.settle();
  }
}

describe('admission control', () => {
  it('two full blocks in a row make every node refuse new client transactions with busy, and only those', async () => {
    const net = await grid();
    commitBlocks(net, 1, FULL);
    for (const id of net.ids) expect(net.replica(id).busy(net.clock(id))).toBe(false); // one full block is a burst
    commitBlocks(net, 1, FULL);
    for (const id of net.ids) expect(net.replica(id).busy(net.clock(id))).toBe(true);
    const r2 = net.replica(2);
    const client = net.tx(2, { kind: 'transfer', to: net.ids[1], amount: 1, memo: '' });
    const refused = r2.submit(client.bytes, net.clock(net.ids[2]!), { entry: true });
    expect(refused).toMatchObject({ ok: false, code: 'busy' });
    expect(r2.txs_rejected_by.busy).toBe(1);
    expect(r2.mempool.has(client.id)).toBe(false);
    // The same transaction as a relay, or as the node's own duty: it enters and commits.
    expect(r2.submit(client.bytes, net.clock(net.ids[2]!)).ok).toBe(true);
    net.settle();
    expect(r2.receipts.get(client.id)?.receipt.ok).toBe(true);
  });

  it('lifts once a block that is not full commits, or once no full block came for hold_ms', async () => {
    const net = await grid();
    commitBlocks(net, 2, FULL);
    expect(net.replica(1).busy(net.clock(net.ids[1]!))).toBe(true);
    commitBlocks(net, 1, 1);
    expect(net.replica(1).busy(net.clock(net.ids[1]!))).toBe(false);
    commitBlocks(net, 3, FULL);
    const now = net.clock(net.ids[1]!);
    expect(net.replica(1).busy(now)).toBe(true);
    expect(net.replica(1).busy(now + ADMISSION.hold_ms + 1)).toBe(false);
  });

  it('a full mempool refuses before the signature is checked', async () => {
    const net = await grid({ mempool: { max_txs: 2, max_bytes: 1 << 20 } });
    const leader = net.replica(0);
    const seq0 = net.replica(1).nextSeq(net.ids[1]!);
    for (let i = 0; i < 2; i++) expect(leader.submit(net.tx(1, { kind: 'transfer', to: net.ids[2], amount: 1, memo: '' }, seq0 + i).bytes, net.clock(net.ids[0]!)).ok).toBe(true);
    expect(leader.mempool.full).toBe(true);
    // A forged signature on a well-formed transaction: refused for the full pool, not verified.
    const forged = net.tx(1, { kind: 'transfer', to: net.ids[2], amount: 1, memo: '' }, seq0 + 2);
    const sig = Uint8Array.from(forged.sig);
    sig[5]! ^= 1;
    const bytes = encodeSignedTx({ body: forged.body, pub: forged.pub, sig });
    expect(leader.submit(bytes, net.clock(net.ids[0]!))).toMatchObject({ ok: false, code: 'mempool_full' });
    expect(leader.txs_rejected_by.bad_signature ?? 0).toBe(0);
    // With room again, the same bytes are verified, and refused for what they are.
    net.settle();
    expect(leader.mempool.full).toBe(false);
    expect(leader.submit(bytes, net.clock(net.ids[0]!))).toMatchObject({ ok: false, code: 'bad_signature' });
  });

  it('one account holds at most its share of a mempool: a member that floods leaves room for the others', async () => {
    const net = await grid({ mempool: { max_txs: 100, max_bytes: 1 << 20, max_per_account: 3 } });
    net.submit(0, { kind: 'mint', to: net.ids[2], amount: 1_000, ref: 'deposit' });
    const leader = net.replica(0);
    const now = net.clock(net.ids[0]!);
    const seq1 = net.replica(1).nextSeq(net.ids[1]!);
    const flood = Array.from({ length: 6 }, (_, i) => net.tx(1, { kind: 'transfer', to: net.ids[2], amount: 1, memo: 'flood' }, seq1 + i));
    const verdicts = flood.map((t) => leader.submit(t.bytes, now));
    expect(verdicts.map((v) => v.ok)).toEqual([true, true, true, false, false, false]);
    expect(verdicts[3]).toMatchObject({ ok: false, code: 'account_full' });
    expect(leader.mempool.accountFull(net.ids[1]!)).toBe(true);
    // Refused before its signature: a forged one is refused for the share, not verified.
    const forged = flood[4]!;
    const sig = Uint8Array.from(forged.sig);
    sig[3]! ^= 1;
    expect(leader.submit(encodeSignedTx({ body: forged.body, pub: forged.pub, sig }), now)).toMatchObject({ ok: false, code: 'account_full' });
    expect(leader.txs_rejected_by.bad_signature ?? 0).toBe(0);
    // Another member's transaction still enters, and the pool is far from full.
    const other = net.tx(2, { kind: 'transfer', to: net.ids[1], amount: 1, memo: 'mine' });
    expect(leader.submit(other.bytes, now).ok).toBe(true);
    expect(leader.mempool.full).toBe(false);
    // Once its transactions are committed, the flooding account has room again.
    net.settle();
    expect(leader.mempool.accountFull(net.ids[1]!)).toBe(false);
    expect(leader.submit(flood[3]!.bytes, net.clock(net.ids[0]!)).ok).toBe(true);
    net.settle();
    expect(net.replica(2).receipts.get(other.id)?.receipt.ok).toBe(true);
    expect(net.replica(2).receipts.get(flood[3]!.id)?.receipt.ok).toBe(true);
  });

  describe('a standing queue at one entry', () => {
    /** n1's transfers handed to n2 by its clients, while n2's forwards to the leader n0 are lost. */
    async function shedAtEntry(count: number) {
      const net = await grid({ params: { block_max_txs: 500 } });
      const [leaderId, , entryId] = net.ids as [string, string, string];
      net.cut.add(`${entryId}->${leaderId}`); // as a leader that sheds every relay of this entry
      const entry = net.replica(entryId);
      const t0 = net.clock(entryId);
      const seq0 = net.replica(1).nextSeq(net.ids[1]!);
      const txs = Array.from({ length: count }, (_, i) => net.tx(1, { kind: 'transfer', to: net.ids[2], amount: 1, memo: '' }, seq0 + i));
      for (const t of txs) expect(entry.submit(t.bytes, t0, { local: true }).ok).toBe(true); // its duties: never refused
      net.settle();
      return { net, entry, entryId, leaderId, t0, txs, seq0 };
    }

    it('refuses clients with busy once min_waiting of its own wait, more than it saw applied in max_wait_ms; relays still enter', async () => {
      const { net, entry, t0, seq0 } = await shedAtEntry(ADMISSION.min_waiting);
      expect(entry.waiting).toBe(ADMISSION.min_waiting);
      expect(entry.busy(t0)).toBe(true); // none of its own applied lately: 32 waiting is more than 0 × 0.5 s
      const next = net.tx(1, { kind: 'transfer', to: net.ids[2], amount: 1, memo: '' }, seq0 + ADMISSION.min_waiting);
      expect(entry.submit(next.bytes, t0, { entry: true })).toMatchObject({ ok: false, code: 'busy' });
      expect(entry.submit(next.bytes, t0).ok).toBe(true); // as a relay
      expect(entry.waiting).toBe(ADMISSION.min_waiting); // a relay is not this entry's own
    });

    it('an entry whose own transactions apply fast enough keeps the door open until the oldest waited max_wait_ms', async () => {
      const net = await grid({ params: { block_max_txs: 500 } });
      const [leaderId, , entryId] = net.ids as [string, string, string];
      const entry = net.replica(entryId);
      const seq0 = net.replica(1).nextSeq(net.ids[1]!);
      const transfer = (i: number) => net.tx(1, { kind: 'transfer', to: net.ids[2], amount: 1, memo: '' }, seq0 + i);
      // 200 of its own applied at once: 100 a second over the rate window, so 50 may wait.
      const t0 = net.clock(entryId);
      for (let i = 0; i < 200; i++) expect(entry.submit(transfer(i).bytes, t0, { local: true }).ok).toBe(true);
      net.settle();
      expect(entry.waiting).toBe(0);
      net.cut.add(`${entryId}->${leaderId}`);
      for (let i = 200; i < 240; i++) expect(entry.submit(transfer(i).bytes, t0, { entry: true }).ok).toBe(true);
      expect(entry.busy(t0)).toBe(false); // 40 waiting, within 100/s × 0.5 s
      expect(entry.busy(t0 + ADMISSION.max_wait_ms + 1)).toBe(true); // the oldest waited too long
      for (let i = 240; i < 251; i++) entry.submit(transfer(i).bytes, t0, { local: true });
      expect(entry.busy(t0)).toBe(true); // 51 waiting: more than 50
    });

    it('a household\'s few transactions never make a standing queue, however long they wait', async () => {
      const { entry, t0 } = await shedAtEntry(ADMISSION.min_waiting - 1);
      expect(entry.busy(t0 + ADMISSION.expire_ms - 1)).toBe(false);
    });

    it('hands its own transactions to the leader again every resend_ms until applied, and the door opens', async () => {
      const { net, entry, t0, txs } = await shedAtEntry(40);
      expect(net.replica(0).mempool.size).toBe(0); // the leader never got them
      entry.resendWaiting(t0 + ADMISSION.resend_ms - 1);
      expect(entry.counters.resent).toBe(0); // not due yet
      net.heal();
      entry.resendWaiting(t0 + ADMISSION.resend_ms);
      expect(entry.counters.resent).toBe(40);
      net.settle();
      for (const t of txs) expect(net.replica(0).receipts.get(t.id)?.receipt.ok).toBe(true);
      expect(entry.waiting).toBe(0);
      expect(entry.busy(t0 + ADMISSION.resend_ms)).toBe(false);
      // Applied ones are not sent again.
      entry.resendWaiting(t0 + 3 * ADMISSION.resend_ms);
      expect(entry.counters.resent).toBe(40);
    });

    it('one whose sequence number was used meanwhile leaves the pool; one unapplied after expire_ms expires', async () => {
      const { net, entry, t0, txs, seq0 } = await shedAtEntry(3);
      // The member signs another transaction with the first one's sequence number, through the leader.
      const rival = net.tx(1, { kind: 'transfer', to: net.ids[2], amount: 2, memo: 'rival' }, seq0);
      expect(net.replica(0).submit(rival.bytes, net.clock(net.ids[0]!)).ok).toBe(true);
      net.settle();
      entry.resendWaiting(t0 + ADMISSION.resend_ms);
      expect(entry.counters.stale).toBe(1);
      expect(entry.mempool.has(txs[0]!.id)).toBe(false);
      expect(entry.waiting).toBe(2);
      entry.resendWaiting(t0 + ADMISSION.expire_ms + 1);
      expect(entry.counters.expired).toBe(2);
      expect(entry.waiting).toBe(0);
      expect(entry.mempool.size).toBe(0);
    });
    it('a leader that loses its block with its own transaction in it hands the transaction to the next leader', async () => {
      const net = await grid({ params: { block_max_txs: 500 } });
      const [oldLeader, , nextLeader] = net.ids as [string, string, string];
      const r0 = net.replica(oldLeader);
      const t0 = net.clock(oldLeader);
      const mine = net.tx(1, { kind: 'transfer', to: net.ids[2], amount: 1, memo: 'mine' });
      net.isolate(oldLeader); // its block with the transfer never leaves it
      expect(r0.submit(mine.bytes, t0, { local: true }).ok).toBe(true);
      net.settle();
      expect(r0.mempool.has(mine.id)).toBe(false); // taken into its own block
      net.tick(40, [net.ids[1]!, nextLeader]); // the other two time out and elect one of them
      const leader = net.replica(nextLeader).raft.leader!;
      expect([net.ids[1], nextLeader]).toContain(leader);
      net.submit(leader, { kind: 'transfer', to: net.ids[1], amount: 1, memo: 'another' }); // the height's new block
      net.tick(20, [oldLeader]); // alone, it steps down (check quorum)
      expect(r0.raft.role).not.toBe('leader');
      r0.resendWaiting(net.clock(oldLeader)); // the transfer is in no pool here: still followed
      net.heal();
      net.tick(30);
      expect(r0.raft.leader).not.toBe(oldLeader);
      expect(r0.raft.leader).not.toBe(null);
      expect(r0.mempool.has(mine.id)).toBe(true); // the truncated block gave it back
      r0.resendWaiting(net.clock(oldLeader) + ADMISSION.resend_ms);
      net.settle();
      expect(net.replica(leader).receipts.get(mine.id)?.receipt.ok).toBe(true);
      expect(r0.waiting).toBe(0);
    });
  });
});
