// The history root under the simulator's faults: every committed header carries the RFC 6962
// root over the blocks before it on every node, a grid made before history roots keeps
// version 1 headers and still converges, and a committed chain exported from a replica
// verifies offline.
import { describe, expect, it } from 'vitest';
import { Cluster } from './cluster.js';
import { blockHash } from '../../src/core/block.js';
import { merkleRoot } from '../../src/core/merkle.js';
import { toHex } from '../../src/core/bytes.js';
import { chainFileItems } from '../../src/core/export.js';
import { verifyChainFile } from '../../src/audit/verify.js';
import { opensslAsyncVerifier, opensslVerifier } from '../../src/audit/openssl.js';
import type { Replica } from '../../src/core/replica.js';

function committed(r: Replica) {
  return r.raft.log.slice(1, r.raft.applied + 1);
}

describe('history root in the simulator', () => {
  for (const [seed, version] of [[3, 2], [11, 2], [5, 1]] as const) {
    it(`seed ${seed}, block_version ${version}: every committed header is right on every node`, async () => {
      const c = new Cluster({ seed, nodes: 4, block_version: version });
      const r = await c.run();
      expect(r.ok, r.violation ?? '').toBe(true);
      expect(r.height).toBeGreaterThan(5);
      for (const n of c.nodes) {
        const rep = n.replica;
        if (!rep) continue;
        const hashes = [rep.chain_id];
        for (const e of committed(rep)) {
          const h = e.block!.header;
          expect(h.v).toBe(version);
          if (version === 2) expect(toHex(h.history!)).toBe(toHex(merkleRoot(hashes)));
          else expect('history' in h).toBe(false);
          hashes.push(blockHash(h));
          expect(toHex(hashes[hashes.length - 1]!)).toBe(e.hash);
        }
      }
    }, 120_000);
  }

  it('a replica\'s committed chain, exported up to its last certificate, verifies offline', async () => {
    const c = new Cluster({ seed: 7, nodes: 3 });
    const r = await c.run();
    expect(r.ok, r.violation ?? '').toBe(true);
    const rep = c.nodes.map((n) => n.replica).filter((x): x is Replica => !!x).sort((a, b) => b.latestCertHeight() - a.latestCertHeight())[0]!;
    const top = rep.latestCertHeight();
    expect(top).toBeGreaterThan(3);
    const blocks = committed(rep).slice(0, top).map((e) => ({ block: e.block!, cert: rep.certs.get(e.index)?.acks ?? null }));
    const report = await verifyChainFile([...chainFileItems(rep.genesis, blocks)], { verifier: opensslVerifier, parallel: opensslAsyncVerifier });
    expect(report.height).toBe(top);
    expect(report.head.hash).toBe(rep.raft.log[top]!.hash);
    expect(report.certificates).toBe(blocks.filter((b) => b.cert).length);
  }, 120_000);
});
