// Writes a forged, valid chain (bench/forge-chain.ts) as an export file, for the offline
// verifier's speed figure and tests: `npx tsx bench/forge-export.ts --blocks 10000 --txs 10 --out chain.glc`.
import { writeFileSync } from 'node:fs';
import { decodeBlock, type Ack } from '../src/core/block.js';
import { decodeGenesis } from '../src/core/genesis.js';
import { chainFileItems, type CertifiedBlock } from '../src/core/export.js';
import { forgeChain } from './forge-chain.js';

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'));

export async function forgeExport(opts: { blocks: number; txs_per_block: number; cert_every?: number }): Promise<{ file: Uint8Array; height: number; txs: number }> {
  const f = await forgeChain(opts);
  const certs = new Map<number, Ack[]>(f.bundle.certs.map((c) => [c.height, c.acks.map((a) => ({ voter: a.voter, sig: b64(a.sig) }))]));
  const blocks: CertifiedBlock[] = f.bundle.blocks.map((s, i) => ({ block: decodeBlock(b64(s)), cert: certs.get(i + 1) ?? null }));
  const parts = [...chainFileItems(decodeGenesis(b64(f.bundle.genesis)), blocks)];
  const file = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    file.set(p, at);
    at += p.length;
  }
  return { file, height: f.height, txs: f.txs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, dflt: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1]! : dflt;
  };
  const out = arg('out', 'forged-chain.glc');
  const t0 = performance.now();
  const r = await forgeExport({ blocks: Number(arg('blocks', '10000')), txs_per_block: Number(arg('txs', '10')), cert_every: Number(arg('cert-every', '16')) });
  writeFileSync(out, r.file);
  console.log(JSON.stringify({ out, height: r.height, txs: r.txs, bytes: r.file.length, ms: Math.round(performance.now() - t0) }));
}
