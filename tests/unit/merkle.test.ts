import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../src/core/merkle.js';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { rfc6962Vectors } from '../helpers/vectors.js';

const VECTORS = rfc6962Vectors();
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(fromHex);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? jsonFiles(path) : name.endsWith('.json') ? [path] : [];
  });
}
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64'));
const proofOf = (p: string[] | null): Uint8Array[] => (p ?? []).map(b64);

describe('RFC 6962 Merkle tree (§2.1)', () => {
  it('gives the published roots for sizes 0..8', () => {
    for (let n = 0; n <= 8; n++) expect(toHex(merkleRoot(LEAVES.slice(0, n)))).toBe(ROOTS[n]);
  });

  const inclusionFiles = jsonFiles(join(VECTORS, 'inclusion'));
  it(`has the inclusion vectors (${inclusionFiles.length} files)`, () => {
    expect(inclusionFiles.length).toBeGreaterThan(20);
    expect(inclusionFiles.some((f) => JSON.parse(readFileSync(f, 'utf8')).wantErr === false)).toBe(true);
  });
  for (const file of inclusionFiles) {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    it(`inclusion ${file.slice(VECTORS.length + 1)} → ${v.wantErr ? 'reject' : 'accept'}`, () => {
      const ok = verifyInclusion(b64(v.leafHash), v.leafIdx, v.treeSize, proofOf(v.proof), b64(v.root));
      expect(ok).toBe(!v.wantErr);
    });
  }

  const consistencyFiles = jsonFiles(join(VECTORS, 'consistency'));
  it(`has the consistency vectors (${consistencyFiles.length} files)`, () => {
    expect(consistencyFiles.length).toBeGreaterThan(20);
  });
  for (const file of consistencyFiles) {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    it(`consistency ${file.slice(VECTORS.length + 1)} → ${v.wantErr ? 'reject' : 'accept'}`, () => {
      const ok = verifyConsistency(v.size1, v.size2, proofOf(v.proof), b64(v.root1), b64(v.root2));
      expect(ok).toBe(!v.wantErr);
    });
  }

  it('generates inclusion proofs that verify, for every leaf of trees up to 40 leaves', () => {
    const leaves = Array.from({ length: 40 }, (_, i) => new Uint8Array([i, i * 7 % 256]));
    for (let n = 1; n <= leaves.length; n++) {
      const tree = leaves.slice(0, n);
      const root = merkleRoot(tree);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(tree, i);
        expect(verifyInclusion(leafHash(tree[i]!), i, n, proof, root)).toBe(true);
        expect(verifyInclusion(leafHash(tree[(i + 1) % n]!), i, n, proof, root)).toBe(n === 1);
      }
    }
  });

  it('generates consistency proofs that verify, for every pair of sizes up to 24', () => {
    const leaves = Array.from({ length: 24 }, (_, i) => new Uint8Array([i]));
    for (let n2 = 1; n2 <= leaves.length; n2++) {
      const root2 = merkleRoot(leaves.slice(0, n2));
      for (let n1 = 1; n1 <= n2; n1++) {
        const proof = consistencyProof(leaves.slice(0, n2), n1);
        const root1 = merkleRoot(leaves.slice(0, n1));
        expect(verifyConsistency(n1, n2, proof, root1, root2)).toBe(true);
        if (n1 < n2) expect(verifyConsistency(n1, n2, proof, root2, root2)).toBe(false);
      }
    }
  });

  it('rejects out-of-range indices when proving', () => {
    expect(() => inclusionProof(LEAVES, 8)).toThrow(RangeError);
    expect(() => consistencyProof(LEAVES, 9)).toThrow(RangeError);
  });
});

describe('MerkleLevels', () => {
  it('gives the same roots and inclusion proofs as RFC 6962 recursion, for every size up to 70', async () => {
    const { MerkleLevels } = await import('../../src/core/merkle.js');
    const leaves = Array.from({ length: 70 }, (_, i) => new Uint8Array([i, (i * 13) % 256, 1]));
    for (let n = 0; n <= leaves.length; n++) {
      const tree = new MerkleLevels(leaves.slice(0, n).map(leafHash));
      expect(toHex(tree.root())).toBe(toHex(merkleRoot(leaves.slice(0, n))));
      for (let i = 0; i < n; i++) expect(tree.inclusion(i).map(toHex)).toEqual(inclusionProof(leaves.slice(0, n), i).map(toHex));
    }
    expect(toHex(new MerkleLevels(LEAVES.map(leafHash)).root())).toBe(ROOTS[8]);
  });
});
