import { describe, expect, it } from 'vitest';
import { TestChain } from '../helpers/chain.js';
import {
  ackMessage, blockHash, buildBlockSync, checkBlock, checkCertificate, decodeBlock, encodeBlock, quorumSize,
  BlockError, type Ack, type Block,
} from '../../src/core/block.js';
import { NobleSigner, nobleVerifier } from '../../src/core/keys.js';
import { inclusionProof, leafHash, verifyInclusion } from '../../src/core/merkle.js';
import { votersOf } from '../../src/core/ledger.js';
import { encodeSignedTx } from '../../src/core/tx.js';
import { certifiedTrust } from '../../src/core/replica.js';
import { nextHistory } from '../../src/core/history.js';

async function setup() {
  const c = await TestChain.create({ a: 'consumer', b: 'producer', d: 'prosumer' });
  const txs = [
    c.tx('operator', 'mint', { to: c.id('a'), amount: 10, ref: '' }),
    c.tx('a', 'transfer', { to: c.id('b'), amount: 1, memo: '' }),
  ];
  const block = buildBlockSync(
    { chain: c.state.chain_id, height: 1, term: 3, prev: c.state.last_hash, history: nextHistory(c.state.params, c.state.history)!, time_ms: 1000 },
    txs.map((t) => t.bytes),
    c.operator,
  );
  const ctx = {
    chain: c.state.chain_id,
    prev: { hash: c.state.last_hash, height: 0, term: 0, time_ms: 0 },
    history: nextHistory(c.state.params, c.state.history)!,
    max_txs: 10,
    max_bytes: 100_000,
    verifier: nobleVerifier,
  };
  return { c, txs, block, ctx };
}

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof BlockError ? err.code : String(err);
  }
};

describe('blocks', () => {
  it('encode/decode round-trips and the follower checks pass', async () => {
    const { block, ctx, txs } = await setup();
    const decoded = decodeBlock(encodeBlock(block));
    expect(blockHash(decoded.header)).toEqual(blockHash(block.header));
    expect(checkBlock(decoded, ctx).map((t) => t.id)).toEqual(txs.map((t) => t.id));
  });

  it('a transaction proves its inclusion against the header root', async () => {
    const { block } = await setup();
    const proof = inclusionProof(block.txs, 1);
    expect(verifyInclusion(leafHash(block.txs[1]!), 1, block.header.tx_count, proof, block.header.tx_root)).toBe(true);
    expect(verifyInclusion(leafHash(block.txs[0]!), 1, block.header.tx_count, proof, block.header.tx_root)).toBe(false);
  });

  it('rejects tampering with typed errors', async () => {
    const { block, ctx, c } = await setup();
    const mutate = (f: (b: Block) => void): Block => {
      const copy = decodeBlock(encodeBlock(block));
      f(copy);
      return copy;
    };
    expect(code(() => checkBlock(mutate((b) => b.txs.pop()), ctx))).toBe('malformed');
    expect(code(() => checkBlock(mutate((b) => { b.txs.reverse(); }), ctx))).toBe('bad_tx_root');
    expect(code(() => checkBlock(mutate((b) => { b.header.time_ms += 1; }), ctx))).toBe('bad_proposer_sig');
    expect(code(() => checkBlock(block, { ...ctx, prev: { ...ctx.prev, height: 1 } }))).toBe('bad_height');
    expect(code(() => checkBlock(block, { ...ctx, prev: { ...ctx.prev, term: 4 } }))).toBe('bad_term');
    expect(code(() => checkBlock(block, { ...ctx, prev: { ...ctx.prev, time_ms: 2000 } }))).toBe('bad_time');
    expect(code(() => checkBlock(block, { ...ctx, max_txs: 1 }))).toBe('too_many_txs');
    expect(code(() => checkBlock(block, { ...ctx, chain: new Uint8Array(32) }))).toBe('wrong_chain');
    // A proposer that re-signs a block holding a forged transaction: the tx check catches it.
    const forged = c.tx('a', 'transfer', { to: c.id('b'), amount: 1, memo: '' });
    const bytes = forged.bytes.slice();
    bytes[bytes.length - 1]! ^= 1; // flip a bit of the signature
    const evil = buildBlockSync({ chain: ctx.chain, height: 1, term: 3, prev: ctx.prev.hash, history: ctx.history, time_ms: 1000 }, [bytes], c.operator);
    expect(code(() => checkBlock(evil, ctx))).toBe('bad_tx');
    const dup = buildBlockSync({ chain: ctx.chain, height: 1, term: 3, prev: ctx.prev.hash, history: ctx.history, time_ms: 1000 }, [forged.bytes, forged.bytes], c.operator);
    expect(code(() => checkBlock(dup, ctx))).toBe('duplicate_tx');
    expect(code(() => decodeBlock(new Uint8Array([0xa0])))).toBe('malformed');
  });

  it('commit certificates need a quorum of distinct voters, under either rule', async () => {
    const { block, c } = await setup();
    const voters = votersOf(c.state); // operator, a, b, d
    expect(voters.size).toBe(4);
    const hash = blockHash(block.header);
    const ack = (name: string): Ack => ({ voter: c.id(name), sig: c.signer(name).signSync(ackMessage(c.state.chain_id, 1, hash)) });
    const check = (cert: Ack[], rule: 'majority' | 'two_thirds') =>
      code(() => checkCertificate(c.state.chain_id, 1, hash, cert, voters, rule, nobleVerifier));
    expect(quorumSize(4, 'majority')).toBe(3);
    expect(quorumSize(4, 'two_thirds')).toBe(3);
    expect(quorumSize(3, 'two_thirds')).toBe(3);
    expect(quorumSize(10, 'two_thirds')).toBe(7);
    expect(check([ack('operator'), ack('a'), ack('b')], 'majority')).toBe('ok');
    expect(check([ack('operator'), ack('a')], 'majority')).toBe('bad_certificate');
    expect(check([ack('operator'), ack('a'), ack('a')], 'majority')).toBe('bad_certificate');
    const outsider = NobleSigner.fromSeed('outsider');
    const fake: Ack = { voter: outsider.id, sig: outsider.signSync(ackMessage(c.state.chain_id, 1, hash)) };
    expect(check([ack('operator'), ack('a'), fake], 'majority')).toBe('bad_certificate');
    const wrongHeight: Ack = { voter: c.id('b'), sig: c.signer('b').signSync(ackMessage(c.state.chain_id, 2, hash)) };
    expect(check([ack('operator'), ack('a'), wrongHeight], 'majority')).toBe('bad_certificate');
  });

  it('certificate-verified sync skips transaction signatures, except those of membership changes', async () => {
    const { c, ctx } = await setup();
    const forged = (t: ReturnType<typeof c.tx>) => {
      const sig = t.sig.slice();
      sig[10]! ^= 1;
      return encodeSignedTx({ body: t.body, pub: t.pub, sig });
    };
    const blockOf = (txs: Uint8Array[]) =>
      buildBlockSync({ chain: c.state.chain_id, height: 1, term: 3, prev: c.state.last_hash, history: nextHistory(c.state.params, c.state.history)!, time_ms: 1000 }, txs, c.operator);
    const transfer = blockOf([forged(c.tx('a', 'transfer', { to: c.id('b'), amount: 1, memo: '' }))]);
    expect(code(() => checkBlock(transfer, ctx))).toBe('bad_tx');
    expect(code(() => checkBlock(transfer, { ...ctx, trust_tx: certifiedTrust }))).toBe('ok');
    const newcomer = NobleSigner.fromSeed('newcomer');
    const admit = blockOf([forged(c.tx('operator', 'admit', { member: newcomer.id, pub: newcomer.publicKey, role: 'consumer', invite: null }))]);
    expect(code(() => checkBlock(admit, ctx))).toBe('bad_tx');
    expect(code(() => checkBlock(admit, { ...ctx, trust_tx: certifiedTrust }))).toBe('bad_tx');
    // The proposer's signature is always checked.
    const resigned = { ...transfer, sig: transfer.sig.map((b, i) => (i === 5 ? b ^ 1 : b)) };
    expect(code(() => checkBlock(resigned, { ...ctx, trust_tx: certifiedTrust }))).toBe('bad_proposer_sig');
  });
});
