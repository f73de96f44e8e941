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
import { batchOf, verifyChainFile } from '../../src/audit/verify.js';
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
    const report = await verifyChainFile([...chainFileItems(rep.genesis, blocks)], { verifier: opensslVerifier, parallel: batchOf(opensslAsyncVerifier) });
    expect(report.height).toBe(top);
    expect(report.head.hash).toBe(rep.raft.log[top]!.hash);
    expect(report.certificates).toBe(blocks.filter((b) => b.cert).length);
  }, 120_000);
});

describe('the node\'s audit exports, from a simulated replica', () => {
  it('exportChain verifies; proveExtends convinces the page against a saved head; evidence checks', async () => {
    const { exportChain, exportHeight, proveExtends, checkSavedHeadExtension, votersStateAt, exportEvidence } = await import('../../src/audit/replica-export.js');
    const { encodeHeadFile } = await import('../../src/core/evidence.js');
    const { checkEvidenceFile } = await import('../../src/audit/evidence-file.js');
    const c = new Cluster({ seed: 7, nodes: 3 });
    const r = await c.run();
    expect(r.ok, r.violation ?? '').toBe(true);
    const rep = c.nodes.map((n) => n.replica).filter((x): x is Replica => !!x).sort((a, b) => exportHeight(b) - exportHeight(a))[0]!;
    const top = exportHeight(rep);
    const report = await verifyChainFile(exportChain(rep), { verifier: opensslVerifier, parallel: batchOf(opensslAsyncVerifier) });
    expect(report.height).toBe(top);
    // A head saved at an earlier certificate, then checked against the node's proof.
    const old = [...rep.certs.keys()].filter((h) => h < top).sort((a, b) => a - b)[0]!;
    const saved = encodeHeadFile(rep.genesis, rep.raft.log[old]!.block!, rep.certs.get(old)!.acks, votersStateAt(rep, old));
    const answer = proveExtends(rep, old);
    expect(checkSavedHeadExtension(saved, answer, opensslVerifier)).toBeNull();
    // A node that lies about one hash of the proof is caught.
    const lie = { ...answer, proof: { ...answer.proof!, consistency: answer.proof!.consistency.map((h, i) => (i === 0 ? h.map((b) => b ^ 1) : h)) } };
    expect(checkSavedHeadExtension(saved, lie, opensslVerifier)).not.toBeNull();
    // Evidence for a household with statements, if the run settled any.
    const ids = [...rep.state.members.values()].filter((m) => m.role !== 'operator').map((m) => m.id);
    for (const id of ids) {
      const chunks: Uint8Array[] = [];
      const reader = exportEvidence(rep, id, opensslVerifier).getReader();
      for (let x = await reader.read(); !x.done; x = await reader.read()) chunks.push(x.value);
      const ev = await checkEvidenceFile(chunks, opensslVerifier);
      expect(ev.household).toBe(id);
      expect(ev.anchor.height).toBe(top);
    }
  }, 120_000);
});
