import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkExtension, checkBlockInHistory, frontierAppend, frontierFits, frontierRoot, genesisFrontier, historyProblem,
  nextHistory, proveBlockInHistory, proveExtension, blockVersionOf,
} from '../../src/core/history.js';
import { consistencyProof, merkleRoot, verifyConsistency } from '../../src/core/merkle.js';
import { sha256 } from '../../src/core/hash.js';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { TestChain, historyField } from '../helpers/chain.js';
import { apply } from '../../src/core/ledger.js';
import { blockHash, buildBlockSync, BlockError, decodeBlock, encodeBlock } from '../../src/core/block.js';
import { nobleVerifier } from '../../src/core/keys.js';
import { rfc6962Vectors } from '../helpers/vectors.js';

const VECTORS = rfc6962Vectors();
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(fromHex);
const hashOf = (i: number): Uint8Array => sha256(new Uint8Array([i % 256, Math.floor(i / 256) % 256, 7]));

function frontierOf(leaves: Uint8Array[]) {
  let f = genesisFrontier(leaves[0]!);
  for (let i = 1; i < leaves.length; i++) f = frontierAppend(f, i, leaves[i]!);
  return f;
}

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? jsonFiles(path) : name.endsWith('.json') ? [path] : [];
  });
}

describe('history tree: frontier (compact range) of an RFC 6962 tree', () => {
  it('gives the RFC 6962 roots of the published vector leaves for sizes 1..8', () => {
    for (let n = 1; n <= LEAVES.length; n++) {
      const f = frontierOf(LEAVES.slice(0, n));
      expect(frontierFits(f, n)).toBe(true);
      expect(toHex(frontierRoot(f))).toBe(toHex(merkleRoot(LEAVES.slice(0, n))));
    }
    // The README's root of size 8.
    expect(toHex(frontierRoot(frontierOf(LEAVES)))).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
    expect(toHex(frontierRoot([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('equals merkleRoot and keeps one subtree per set bit, for every size up to 300', () => {
    const leaves = Array.from({ length: 300 }, (_, i) => hashOf(i));
    let f = genesisFrontier(leaves[0]!);
    for (let n = 2; n <= leaves.length; n++) {
      f = frontierAppend(f, n - 1, leaves[n - 1]!);
      expect(f.length).toBe(n.toString(2).replace(/0/g, '').length);
      expect(toHex(frontierRoot(f))).toBe(toHex(merkleRoot(leaves.slice(0, n))));
    }
  });

  it('refuses a frontier that does not fit the size it is appended at', () => {
    const f = frontierOf([hashOf(0), hashOf(1), hashOf(2)]);
    expect(() => frontierAppend(f, 4, hashOf(3))).toThrow(/does not fit/);
    expect(() => frontierAppend(f.slice(1), 3, hashOf(3))).toThrow(/does not fit/);
  });

  // The RFC 6962 consistency vectors check the verifier this module relies on; the
  // property below checks that proofs between roots this module computes verify there.
  const consistencyFiles = jsonFiles(join(VECTORS, 'consistency'));
  it(`the consistency verifier accepts and rejects the RFC 6962 vectors (${consistencyFiles.length} files)`, () => {
    expect(consistencyFiles.length).toBeGreaterThan(20);
    const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64'));
    for (const file of consistencyFiles) {
      const v = JSON.parse(readFileSync(file, 'utf8'));
      const ok = verifyConsistency(v.size1, v.size2, (v.proof ?? []).map(b64), b64(v.root1), b64(v.root2));
      expect(ok, file).toBe(!v.wantErr);
    }
  });

  it('extension proofs between frontier roots verify across random chain lengths, and fail when tampered', () => {
    const hashes = Array.from({ length: 400 }, (_, i) => hashOf(i));
    const roots = new Map<number, Uint8Array>();
    let f = genesisFrontier(hashes[0]!);
    roots.set(1, frontierRoot(f));
    for (let n = 2; n < hashes.length; n++) {
      f = frontierAppend(f, n - 1, hashes[n - 1]!);
      roots.set(n, frontierRoot(f));
    }
    const head = (h: number) => ({ height: h, hash: hashes[h]!, history: roots.get(h)! });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 390 }), fc.integer({ min: 1, max: 200 }), fc.nat(), (old, step, pick) => {
        const next = Math.min(old + step, 399);
        if (next === old) return;
        const proof = proveExtension(hashes, old, next);
        expect(proof.consistency.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(next)) + 1);
        expect(checkExtension(head(old), head(next), proof)).toBeNull();
        // The same proof as RFC 6962 computes it from the leaves.
        expect(proof.consistency.map(toHex)).toEqual(consistencyProof(hashes.slice(0, next), old).map(toHex));
        // A different block at the old height is caught, and so is any changed proof hash.
        expect(checkExtension({ ...head(old), hash: hashOf(9999) }, head(next), proof)).toMatch(/not block/);
        const all = [...proof.consistency, ...proof.inclusion];
        if (all.length > 0) {
          const k = pick % all.length;
          const bad = all.map((h, i) => (i === k ? h.map((b, j) => (j === 0 ? b ^ 1 : b)) : h));
          const tampered = { ...proof, consistency: bad.slice(0, proof.consistency.length), inclusion: bad.slice(proof.consistency.length) };
          expect(checkExtension(head(old), head(next), tampered)).not.toBeNull();
        }
        // A fork: the same length with another block somewhere before `old` is refused.
        const forked = hashes.slice();
        forked[Math.max(1, pick % old)] = hashOf(12345);
        const forkRoot = merkleRoot(forked.slice(0, next));
        expect(checkExtension(head(old), { height: next, hash: forked[next]!, history: forkRoot }, proveExtension(forked, old, next))).not.toBeNull();
      }),
      { numRuns: 60 },
    );
  });

  it('proves a block is in a later header\'s history', () => {
    const hashes = Array.from({ length: 50 }, (_, i) => hashOf(i));
    const anchor = { height: 40, hash: hashes[40]!, history: merkleRoot(hashes.slice(0, 40)) };
    for (let h = 0; h < 40; h++) {
      const proof = proveBlockInHistory(hashes, h, 40);
      expect(checkBlockInHistory(hashes[h]!, h, anchor, proof)).toBe(true);
      expect(checkBlockInHistory(hashes[h + 1]!, h, anchor, proof)).toBe(false);
    }
    expect(checkBlockInHistory(hashes[40]!, 40, anchor, [])).toBe(false);
  });
});

describe('history root in block headers (block_version 2)', () => {
  it('every header of a chain carries the root over the blocks before it', async () => {
    const c = await TestChain.create({ a: 'consumer' });
    for (let i = 0; i < 9; i++) c.block([c.tx('operator', 'mint', { to: c.id('a'), amount: 1, ref: '' })], 1000 * (i + 1));
    const hashes = [c.state.chain_id, ...c.blocks.map((b) => blockHash(b.header))];
    for (const b of c.blocks) {
      expect(b.header.v).toBe(2);
      expect(toHex(b.header.history!)).toBe(toHex(merkleRoot(hashes.slice(0, b.header.height))));
      expect(decodeBlock(encodeBlock(b)).header.history).toEqual(b.header.history);
    }
    expect(toHex(frontierRoot(c.state.history))).toBe(toHex(merkleRoot(hashes)));
  });

  it('a block with a wrong or missing history root is refused with bad_history', async () => {
    const c = await TestChain.create();
    c.block([], 1000);
    const fields = { chain: c.state.chain_id, height: 2, term: 1, prev: c.state.last_hash, time_ms: 2000 };
    const wrong = buildBlockSync({ ...fields, history: new Uint8Array(32) }, [], c.operator);
    expect(() => apply(c.state, wrong, nobleVerifier)).toThrow(BlockError);
    expect(() => apply(c.state, wrong, nobleVerifier)).toThrow(/bad_history/);
    const v1 = buildBlockSync(fields, [], c.operator);
    expect(v1.header.v).toBe(1);
    expect(() => apply(c.state, v1, nobleVerifier)).toThrow(/bad_history/);
    const right = buildBlockSync({ ...fields, ...historyField(c.state) }, [], c.operator);
    expect(apply(c.state, right, nobleVerifier).state.height).toBe(2);
  });

  it('a grid made before history roots (no block_version) keeps version 1 headers', async () => {
    const c = await TestChain.create({}, { block_version: undefined });
    expect('block_version' in c.genesis.genesis.params).toBe(false);
    expect(blockVersionOf(c.state.params)).toBe(1);
    expect(nextHistory(c.state.params, c.state.history)).toBeNull();
    c.block([], 1000);
    expect(c.blocks[0]!.header.v).toBe(1);
    expect('history' in c.blocks[0]!.header).toBe(false);
    const v2 = buildBlockSync({ chain: c.state.chain_id, height: 2, term: 1, prev: c.state.last_hash, history: frontierRoot(c.state.history), time_ms: 2000 }, [], c.operator);
    expect(() => apply(c.state, v2, nobleVerifier)).toThrow(/bad_history/);
    expect(historyProblem({ v: 1 }, null)).toBeNull();
  });
});
