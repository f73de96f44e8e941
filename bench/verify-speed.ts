// The offline verifier's speed on this machine: forges a valid 10,000-block / 100,000-transfer
// chain file (bench/forge-export.ts) unless given one, then measures, in this order, what bounds
// it: OpenSSL ECDSA P-256 verifications per second (one thread, and on libuv's pool), the main
// path's CPU per transaction with signatures taken as valid (decode, hashes, Merkle and history
// roots, ledger apply), and the whole check trusting only the genesis, with signatures checked
// one by one and speculatively in parallel. Prints one JSON line.
//
//   npm run bench:verify                         # forge, then measure (≈ 1–2 min)
//   npm run bench:verify -- --file forged.glc    # measure an existing chain file
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { batchOf, verifyChainFile, type BatchVerifier } from '../src/audit/verify.js';
import { OpenSslPool } from '../src/audit/openssl-pool.js';
import { opensslAsyncVerifier, opensslVerifier } from '../src/audit/openssl.js';
import { ChainFileReader } from '../src/core/export.js';
import { auditBlock, auditGenesis } from '../src/core/audit.js';
import { NobleSigner, type Verifier } from '../src/core/keys.js';
import type { LedgerState } from '../src/core/ledger.js';
import { forgeExport } from './forge-export.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

async function signatureRates(): Promise<{ sync_per_s: number; pool_per_s: number }> {
  const s = NobleSigner.fromSeed('bench');
  const msgs = Array.from({ length: 4000 }, (_, i) => new TextEncoder().encode(`a transaction of about two hundred bytes ${i} `.padEnd(200, '.')));
  const sigs = msgs.map((m) => s.signSync(m));
  let t = performance.now();
  for (let i = 0; i < msgs.length; i++) if (!opensslVerifier.verify(s.publicKey, msgs[i]!, sigs[i]!)) throw new Error('bad');
  const sync = msgs.length / ((performance.now() - t) / 1000);
  t = performance.now();
  const ok = await Promise.all(msgs.map((m, i) => opensslAsyncVerifier.verify(s.publicKey, m, sigs[i]!)));
  if (!ok.every(Boolean)) throw new Error('bad');
  const pool = msgs.length / ((performance.now() - t) / 1000);
  return { sync_per_s: Math.round(sync), pool_per_s: Math.round(pool) };
}

function mainPath(file: Uint8Array): { cpu_us_per_tx: number } {
  const yes: Verifier = { verify: () => true };
  const c0 = process.cpuUsage();
  const r = new ChainFileReader();
  r.push(file);
  let state: LedgerState | null = null;
  let txs = 0;
  for (let it = r.next(); it; it = r.next()) {
    if (it.t === 'genesis') state = auditGenesis(it.genesis, opensslVerifier);
    if (it.t === 'block') {
      state = auditBlock(state!, it.block, it.cert, yes).state;
      txs += it.block.txs.length;
    }
  }
  const cpu = process.cpuUsage(c0);
  return { cpu_us_per_tx: Math.round(((cpu.user + cpu.system) / txs) * 10) / 10 };
}

async function full(path: string, parallel: BatchVerifier | null): Promise<{ tx_per_s: number; seconds: number; cpu_s: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const report = await verifyChainFile(createReadStream(path, { highWaterMark: 256 * 1024 }), {
    verifier: opensslVerifier,
    ...(parallel ? { parallel } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  return { tx_per_s: Math.round(report.txs / seconds), seconds: Math.round(seconds * 100) / 100, cpu_s: Math.round((cpu.user + cpu.system) / 1e4) / 100 };
}

let path = arg('file');
if (!path) {
  path = join(tmpdir(), 'gridledger-verify-bench.glc');
  const f = await forgeExport({ blocks: Number(arg('blocks') ?? 10_000), txs_per_block: Number(arg('txs') ?? 10), cert_every: 16 });
  writeFileSync(path, f.file);
}
const bytes = readFileSync(path);
const sigs = await signatureRates();
const main = mainPath(bytes);
const sequential = await full(path, null);
const libuv = await full(path, batchOf(opensslAsyncVerifier));
const pool = new OpenSslPool();
const workers = await full(path, pool);
await pool.close();
const txs = (() => {
  const r = new ChainFileReader();
  r.push(bytes);
  let n = 0;
  for (let it = r.next(); it; it = r.next()) if (it.t === 'end') n = it.txs;
  return n;
})();
console.log(
  JSON.stringify({
    file: path,
    txs,
    cores: cpus().length,
    openssl_verify_per_s: sigs,
    main_path_cpu_us_per_tx: main.cpu_us_per_tx,
    sequential,
    speculative_libuv: libuv,
    speculative_workers: { ...workers, threads: pool.threads },
    tx_per_s: workers.tx_per_s,
  }),
);
