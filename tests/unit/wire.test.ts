// The peer wire protocol: frames round-trip, anything else is a typed WireError, and
// chunking reassembles large frames within limits.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, Reassembler, toChannelMessages, WireError, WIRE_LIMITS, type Frame } from '../../src/net/wire.js';
import { encodeCanonical } from '../../src/core/codec.js';
import { TestChain } from '../helpers/chain.js';
import { blockHashHex } from '../../src/core/block.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('wire frames', () => {
  it('round-trip every frame type, including appends that carry real blocks', async () => {
    const c = await TestChain.create({ ann: 'consumer', bob: 'producer' });
    const tx = c.tx('ann', 'transfer', { to: c.id('bob'), amount: 1, memo: 'hi' });
    c.block([tx], 5_000);
    const block = c.blocks[0]!;
    const entry = { index: 1, term: 1, hash: blockHashHex(block.header), block };
    const frames: Frame[] = [
      { t: 'hello', v: 2, pub: c.signer('ann').publicKey, grid: 'c'.repeat(64), nonce: new Uint8Array(16), height: 3, member: true },
      { t: 'auth', pub: c.signer('ann').publicKey, nonce: new Uint8Array(16), height: 3, sig: new Uint8Array(64) },
      { t: 'ping', n: 7 },
      { t: 'pong', n: 7 },
      { t: 'env', env: { kind: 'raft', from: A, to: B, msg: { type: 'append', from: A, to: B, term: 2, prev_index: 0, prev_term: 0, entries: [entry], commit: 0 } } },
      { t: 'env', env: { kind: 'raft', from: A, to: B, msg: { type: 'vote_resp', from: A, to: B, term: 2, reject: false } } },
      { t: 'env', env: { kind: 'txs', from: A, to: B, txs: [tx.bytes] } },
      { t: 'env', env: { kind: 'cert', from: A, to: B, cert: { height: 1, hash: entry.hash, acks: [{ voter: A, sig: new Uint8Array(64) }] } } },
      { t: 'genesis_req' },
      { t: 'sync_req', from: 1, max: 64 },
      { t: 'sync_resp', entries: [entry], certs: [], tip: 1 },
      { t: 'join_req', pub: c.signer('ann').publicKey, role: 'consumer', name: 'Ann' },
    ];
    for (const f of frames) expect(decodeFrame(encodeFrame(f))).toEqual(f);
  });

  it('rejects malformed frames with typed errors', () => {
    const bad: unknown[] = [
      { t: 'nope' },
      { t: 'ping', n: -1 },
      { t: 'ping', n: 1, extra: true },
      { t: 'hello', v: 2 },
      // A version 1 hello (before the transcript-bound handshake) is refused, as is any other.
      { t: 'hello', v: 1, pub: new Uint8Array(33).fill(2), grid: 'c'.repeat(64), nonce: new Uint8Array(16), height: 0, member: false },
      { t: 'auth', sig: new Uint8Array(64) },
      { t: 'hello', v: 3, pub: new Uint8Array(33).fill(2), grid: 'c'.repeat(64), nonce: new Uint8Array(16), height: 0, member: false },
      { t: 'env', env: { kind: 'raft', from: A, to: B, msg: { type: 'append' } } },
      { t: 'env', env: { kind: 'raft', from: A, to: B, msg: { type: 'append', from: A, to: B, term: 1, prev_index: 0, prev_term: 0, entries: [{ index: 1, term: 1, hash: '0'.repeat(64), block: new Uint8Array([1, 2]) }], commit: 0 } } },
      { t: 'env', env: { kind: 'txs', from: 'x', to: B, txs: [] } },
      { t: 'sync_req', from: 0, max: 10 },
      { t: 'sync_req', from: 1, max: WIRE_LIMITS.sync_batch_max + 1 },
      [1, 2, 3],
    ];
    for (const v of bad) expect(() => decodeFrame(encodeCanonical(v as never))).toThrow(WireError);
    expect(() => decodeFrame(new Uint8Array([0xff, 0x00]))).toThrow(WireError);
  });

  it('never throws anything but WireError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeFrame(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('chunks large frames and reassembles them in order; refuses bad chunks', () => {
    const big = new Uint8Array(300_000).map((_, i) => i % 251);
    const parts = toChannelMessages(big, 42);
    expect(parts.length).toBeGreaterThan(4);
    expect(parts.every((p) => p.length <= WIRE_LIMITS.chunk_bytes)).toBe(true);
    const r = new Reassembler();
    let out: Uint8Array | null = null;
    for (const p of parts) out = r.push(p, 0);
    expect(out).toEqual(big);
    // A repeated chunk, an impossible count, and an unknown kind.
    const r2 = new Reassembler();
    r2.push(parts[0]!, 0);
    expect(() => r2.push(parts[0]!, 0)).toThrow(WireError);
    expect(() => new Reassembler().push(new Uint8Array([1, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 9]), 0)).toThrow(WireError);
    expect(() => new Reassembler().push(new Uint8Array([7, 1]), 0)).toThrow(WireError);
    // Too many frames in flight at once.
    const r3 = new Reassembler();
    for (let id = 0; id < WIRE_LIMITS.partial_frames; id++) r3.push(toChannelMessages(big, id)[0]!, 0);
    expect(() => r3.push(toChannelMessages(big, 99)[0]!, 1000)).toThrow(/too many frames/);
    // Half-received frames expire: a peer cannot pin memory by never sending the last chunk.
    expect(r3.push(toChannelMessages(big, 99)[0]!, WIRE_LIMITS.partial_frame_ms + 1)).toBeNull();
    expect(r3.expired).toBe(WIRE_LIMITS.partial_frames);
  });
});
