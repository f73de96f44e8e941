// `npm run verify` / `npx gridledger-verify`: the offline auditor's command (Node). Verifies an
// exported chain trusting nothing but its genesis, checks that one snapshot extends another,
// checks a household's evidence file, and writes a household's statements as CSV.
//
// Exit status: 0 verified; 1 an inconsistency (the first failing height and the reason are
// printed); 2 a usage or I/O error.
import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { bytesEqual, toHex } from '../core/bytes.js';
import { AuditError, type AuditReport } from '../core/audit.js';
import { blockHash, type Ack, type Block } from '../core/block.js';
import { checkExtension, frontierAppend, frontierRoot, genesisFrontier, proveExtension, type ExtensionProof, type HeadView } from '../core/history.js';
import { chainIdOf, type SignedGenesis } from '../core/genesis.js';
import type { LedgerState } from '../core/ledger.js';
import { decodeItem, ItemReader, CHAIN_FORMAT } from '../core/export.js';
import { checkHeadFile, encodeHeadFile, EvidenceError, HEAD_FORMAT } from '../core/evidence.js';
import { csvContextOf, isHouseholdStatement, statementCsv, type StatementRow } from '../market/statement-csv.js';
import { verifyChainFile, type VerifiedBlock } from './verify.js';
import { readChain } from './stream.js';
import { opensslVerifier } from './openssl.js';
import { OpenSslPool } from './openssl-pool.js';
import { checkEvidenceFile } from './evidence-file.js';

class UsageError extends Error {}

/** A failure that is not at a height: the two snapshots disagree. */
class InconsistentError extends Error {}

interface Args {
  files: string[];
  json: boolean;
  csv: boolean;
  household: string | null;
  sequential: boolean;
  consistent: boolean;
  evidence: boolean;
  saveHead: string | null;
  progress: boolean;
}

const USAGE = `usage: gridledger-verify FILE [options]        (npm run verify -- FILE [options])
  FILE                      an exported chain: verify it from its genesis, trusting nothing else
                            (hashes, Merkle and history roots, every signature, every certificate
                            against the voters at its height), replay the ledger, recompute every
                            receipt and statement, print a report
    --household ID          add that household's totals (ID: a member id or a unique prefix)
    --csv                   with --household: its statements as CSV on stdout (the app's columns);
                            the report goes to stderr
    --save-head OUT         write the verified head (certified header, certificate, voters)
    --json                  the report as JSON
    --sequential            check signatures one by one (default: in parallel on OpenSSL threads)
    --no-progress           no progress bar (it is shown on a terminal only, on stderr)
  --consistent OLD NEW      verify NEW in full, then check with an RFC 6962 consistency proof
                            (O(log n) hashes) that NEW's history extends OLD's head; OLD is a
                            chain file or a saved head (--save-head)
  --evidence FILE           check a household's evidence file alone (proofs against a
                            certified header), and say what it cannot prove
exit status: 0 verified, 1 an inconsistency (first failing height and reason), 2 usage or I/O error`;

function parseArgs(argv: string[]): Args {
  const a: Args = { files: [], json: false, csv: false, household: null, sequential: false, consistent: false, evidence: false, saveHead: null, progress: true };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${x} needs a value`);
      return v;
    };
    if (x === '--json') a.json = true;
    else if (x === '--csv') a.csv = true;
    else if (x === '--household') a.household = value().toLowerCase();
    else if (x === '--sequential') a.sequential = true;
    else if (x === '--consistent') a.consistent = true;
    else if (x === '--evidence') a.evidence = true;
    else if (x === '--save-head') a.saveHead = value();
    else if (x === '--no-progress') a.progress = false;
    else if (x === '--help' || x === '-h') throw new UsageError('');
    else if (x.startsWith('--')) throw new UsageError(`unknown option ${x}`);
    else a.files.push(x);
  }
  if (a.files.length !== (a.consistent ? 2 : 1)) throw new UsageError(a.consistent ? '--consistent takes two files: OLD NEW' : 'give one file');
  if (a.csv && !a.household) throw new UsageError('--csv needs --household ID');
  if (a.household !== null && !/^[0-9a-f]{4,40}$/.test(a.household)) throw new UsageError('--household takes a member id (hex) or a unique prefix of at least 4 characters');
  return a;
}

// ---- progress (stderr, only on a terminal) ----------------------------------------------

class Progress {
  #last = 0;
  #shown = false;
  constructor(
    private readonly total_bytes: number,
    private readonly on: boolean,
  ) {}

  update(bytes: number, height: number, txs: number, t0: number): void {
    if (!this.on) return;
    const now = performance.now();
    if (now - this.#last < 100) return;
    this.#last = now;
    const frac = this.total_bytes > 0 ? Math.min(1, bytes / this.total_bytes) : 0;
    const bar = '#'.repeat(Math.round(frac * 30)).padEnd(30, '.');
    const rate = Math.round(txs / Math.max(0.001, (now - t0) / 1000));
    process.stderr.write(`\r[${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  height ${height}  ${txs} txs  ${rate} tx/s `);
    this.#shown = true;
  }

  done(): void {
    if (this.#shown) process.stderr.write('\r\x1b[K');
  }
}

// ---- the report -------------------------------------------------------------------------

function amount(minor: number, decimals: number): string {
  if (decimals === 0) return `${minor}`;
  const abs = Math.abs(minor);
  const unit = 10 ** decimals;
  return `${minor < 0 ? '-' : ''}${Math.floor(abs / unit)}.${String(abs % unit).padStart(decimals, '0')}`;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function printReport(r: AuditReport, genesis: SignedGenesis, run: { seconds: number; mode: string; household: string | null }, out: (s: string) => void): void {
  const p = genesis.genesis.params;
  const money = (n: number) => `${amount(n, p.token_decimals)} ${p.token_symbol}`;
  const t = r.tokens;
  out(`verified: chain ${r.chain} "${r.name}"`);
  out(`  blocks        1..${r.height} (block_version ${r.block_version}, commit quorum ${r.commit_quorum}); genesis ${iso(r.genesis_time_ms)}, last block ${iso(r.head.time_ms)}`);
  out(`  head          height ${r.head.height}, hash ${r.head.hash}`);
  out(`  history root  over blocks 0..${r.height}: ${r.history_root}`);
  out(`  certificates  ${r.certificates}, certified through height ${r.certified_through}: every block is final`);
  const failed = Object.entries(r.failed_by_code).map(([k, v]) => `${k} ${v}`).join(', ');
  out(`  transactions  ${r.txs}${r.txs_failed > 0 ? `, ${r.txs_failed} failed (kept with their receipts: ${failed})` : ''}; every receipt and statement recomputed`);
  out(`  members       ${r.members_at_end} at the end, ${r.voters_at_end} of them voters; over time:`);
  for (const e of r.members) out(`      height ${String(e.height).padStart(7)}  ${e.event.padEnd(8)}  ${e.member}  ${e.role}`);
  out(`  tokens        minted ${money(t.minted)}, burned ${money(t.burned)}, held ${money(t.balances + t.locked)} (balances ${money(t.balances)} + escrow ${money(t.locked)}); payouts pending ${money(t.pending_payouts)}`);
  out(`                minted - burned = held: ${t.conserved ? 'conserved' : 'NOT CONSERVED'}`);
  out(`  statements    ${r.statements}${r.energy_statements > 0 ? `, and ${r.energy_statements} household energy statements` : ''}`);
  out(`  households    ${'id'.padEnd(40)}  ${'role'.padEnd(8)}  ${'balance'.padStart(12)}  consumed_wh  bought_wh       paid  grid_wh  sold_wh     earned`);
  for (const h of r.households) {
    if (run.household && h.id !== run.household) continue;
    const cols = [
      h.id, h.role.padEnd(8), amount(h.balance, p.token_decimals).padStart(12), String(h.consumed_wh).padStart(11), String(h.bought_wh).padStart(9),
      amount(h.paid, p.token_decimals).padStart(10), String(h.grid_wh).padStart(7), String(h.sold_wh).padStart(7), amount(h.earned, p.token_decimals).padStart(10),
    ];
    out(`                ${cols.join('  ')}${h.removed ? '  (removed)' : ''}`);
    const e = h.energy;
    if (e.import_wh + e.export_wh > 0) {
      // Settlement rule 3's energy statements: all of the household's metered energy.
      out(`                ${''.padEnd(40)}  energy: imported ${e.import_wh} Wh, exported ${e.export_wh} Wh; estimated (gaps) ${e.estimated_import_wh} / ${e.estimated_export_wh} Wh, of which with the grid (settled already) ${e.unmatched_import_wh} / ${e.unmatched_export_wh} Wh`);
    }
  }
  out(`  checked       ${r.txs} transactions in ${run.seconds.toFixed(2)} s (${Math.round(r.txs / Math.max(run.seconds, 1e-3))} tx/s); signatures: ${run.mode}`);
}

// ---- verifying a chain file ---------------------------------------------------------------

interface ChainRun {
  report: AuditReport;
  genesis: SignedGenesis;
  seconds: number;
  mode: string;
  household: string | null;
  last: { block: Block; cert: Ack[] | null; state: LedgerState } | null;
  hashes: Uint8Array[] | null;
}

async function runChain(file: string, args: Args, keepHashes: boolean, csvOut: ((line: string) => void) | null): Promise<ChainRun> {
  const size = statSync(file).size;
  const progress = new Progress(size, args.progress && process.stderr.isTTY === true);
  const t0 = performance.now();
  let txs = 0;
  let bytes = 0;
  let genesis: SignedGenesis | null = null;
  let household: string | null = args.household?.length === 40 ? args.household : null;
  let operator = '';
  const held: VerifiedBlock[] = [];
  const hashes: Uint8Array[] | null = keepHashes ? [] : null;
  let last: ChainRun['last'] = null;

  const resolve = (s: LedgerState): void => {
    if (household || !args.household) return;
    const matches = [...s.members.keys()].filter((id) => id.startsWith(args.household!));
    if (matches.length > 1) throw new UsageError(`--household ${args.household} matches ${matches.length} members`);
    if (matches.length === 1) household = matches[0]!;
  };
  // The household's rows wait for the end: the CSV names members as the chain's last state
  // does, as the app does at the time it exports.
  const rows: StatementRow[] = [];
  const emit = (b: VerifiedBlock): void => {
    if (!csvOut || !household) return;
    for (const s of b.statements) if (isHouseholdStatement(s, household, household === operator)) rows.push({ ...s, height: b.height });
  };

  const pool = args.sequential ? null : new OpenSslPool();
  const mode = pool ? `OpenSSL on ${pool.threads} worker threads, speculative (docs/ARCHITECTURE.md)` : 'OpenSSL, one by one';
  const report = await verifyChainFile(createReadStream(file, { highWaterMark: 256 * 1024 }), {
    verifier: opensslVerifier,
    ...(pool ? { parallel: pool } : {}),
    onGenesis: (g, s) => {
      genesis = g;
      operator = s.operator;
      hashes?.push(s.chain_id);
      resolve(s);
    },
    onBlock: (b) => {
      txs += b.txs;
      hashes?.push(b.state.last_hash);
      last = { block: b.block, cert: b.cert, state: b.state };
      if (household) emit(b);
      else if (args.household) {
        // A prefix resolves once its member is admitted; rows wait until then.
        resolve(b.state);
        held.push(b);
        if (household) for (const h of held.splice(0)) emit(h);
      }
      progress.update(bytes, b.height, txs, t0);
    },
    onBytes: (n) => {
      bytes = n;
    },
  });
  progress.done();
  await pool?.close();
  if (args.household && !household) throw new UsageError(`--household ${args.household} is not a member of this chain`);
  if (csvOut) {
    const end = (last as ChainRun['last'])?.state ?? { params: (genesis as SignedGenesis | null)!.genesis.params, members: new Map(), operator };
    csvOut(statementCsv(rows, csvContextOf(end)).replace(/\n$/, ''));
  }
  return { report, genesis: genesis!, seconds: (performance.now() - t0) / 1000, mode, household, last, hashes };
}

// ---- --consistent OLD NEW ---------------------------------------------------------------

interface OldHead {
  chain: Uint8Array;
  view: { height: number; hash: Uint8Array; history: Uint8Array | null };
  from: string;
}

function formatOf(file: string): string {
  const fd = openSync(file, 'r');
  const start = new Uint8Array(4096);
  const n = readSync(fd, start, 0, start.length, 0);
  closeSync(fd);
  const r = new ItemReader();
  r.push(start.subarray(0, n));
  const first = r.next();
  if (!first) throw new UsageError(`${file} is not a gridledger file`);
  const item = decodeItem(first, 0);
  return typeof item.format === 'string' ? item.format : '';
}

/**
 * OLD's head: from a saved head file (its certificate checked against the voters it names), or
 * the last block of a chain file read without signatures (it is the auditor's own saved copy,
 * verified when saved), whose hash links and history roots are still recomputed on the way.
 */
async function oldHeadOf(file: string): Promise<OldHead> {
  const format = formatOf(file);
  if (format === HEAD_FORMAT) {
    const { genesis, head } = checkHeadFile(readFileSync(file), opensslVerifier);
    return { chain: chainIdOf(genesis.genesis), view: head, from: 'a saved head, its certificate checked against the voters it names' };
  }
  if (format !== CHAIN_FORMAT) throw new UsageError(`${file} is neither a chain file nor a saved head`);
  let chain: Uint8Array | null = null;
  let prev: Uint8Array | null = null;
  let frontier: Uint8Array[] = [];
  let view: OldHead['view'] | null = null;
  for await (const item of readChain(createReadStream(file, { highWaterMark: 256 * 1024 }))) {
    if (item.t === 'head') {
      chain = item.chain;
      prev = item.chain;
      frontier = genesisFrontier(item.chain);
    }
    if (item.t !== 'block') continue;
    const h = item.block.header;
    if (!bytesEqual(h.prev, prev!)) throw new InconsistentError(`OLD is not a chain: block ${h.height} does not link to its parent`);
    if (h.history && !bytesEqual(h.history, frontierRoot(frontier))) throw new InconsistentError(`OLD is not a chain: block ${h.height} carries a wrong history root`);
    const hash = blockHash(h);
    frontier = frontierAppend(frontier, h.height, hash);
    prev = hash;
    view = { height: h.height, hash, history: h.history ?? null };
  }
  if (!view) throw new UsageError(`${file} holds no block`);
  return { chain: chain!, view, from: 'chain file (its last block)' };
}

async function consistent(args: Args, out: (s: string) => void): Promise<number> {
  const [oldFile, newFile] = args.files as [string, string];
  const old = await oldHeadOf(oldFile);
  const run = await runChain(newFile, args, true, null);
  const hashes = run.hashes!;
  const tip = run.last?.block.header;
  if (!bytesEqual(old.chain, hashes[0]!)) throw new InconsistentError('OLD and NEW are different grids (their chain ids differ)');
  if (!tip) throw new InconsistentError('NEW holds no block');
  const o = old.view;
  const n = { height: tip.height, hash: hashes[tip.height]!, history: tip.history ?? null };
  if (o.height > n.height) throw new InconsistentError(`NEW (height ${n.height}) is shorter than OLD (height ${o.height})`);
  let proof: ExtensionProof | null = null;
  let how: string;
  if (o.height === n.height) {
    if (!bytesEqual(o.hash, n.hash)) throw new InconsistentError(`two different blocks at height ${o.height}`);
    how = 'the same head';
  } else if (o.history === null || n.history === null) {
    // Version 1 headers carry no history root: compare the hash NEW holds at OLD's height.
    if (!bytesEqual(hashes[o.height]!, o.hash)) throw new InconsistentError(`NEW holds another block at height ${o.height}`);
    how = 'compared block hashes directly (version 1 headers carry no history root, so no logarithmic proof)';
  } else {
    proof = proveExtension(hashes, o.height, n.height);
    const problem = checkExtension(o as HeadView, n as HeadView, proof);
    if (problem) throw new InconsistentError(problem);
    how = `RFC 6962 consistency proof of ${proof.consistency.length} hashes and inclusion proof of ${proof.inclusion.length}, against the history root of NEW's certified head`;
  }
  const result = {
    consistent: true,
    old: { height: o.height, hash: toHex(o.hash), history: o.history ? toHex(o.history) : null, from: old.from },
    new: { height: n.height, hash: toHex(n.hash), history: n.history ? toHex(n.history) : null },
    how,
    proof: proof && { consistency: proof.consistency.map(toHex), inclusion: proof.inclusion.map(toHex) },
    new_report: run.report,
  };
  if (args.json) out(JSON.stringify(result, null, 2));
  else {
    printReport(run.report, run.genesis, run, out);
    out(`consistent: NEW (height ${n.height}) extends OLD (height ${o.height}, ${old.from})`);
    out(`  how         ${how}`);
    out(`  old head    ${result.old.hash}${result.old.history ? `, history ${result.old.history}` : ''}`);
    out(`  new head    ${result.new.hash}${result.new.history ? `, history ${result.new.history}` : ''}`);
  }
  return 0;
}

// ---- main -------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const out = (s: string) => process.stdout.write(s + '\n');
  const err = (s: string) => process.stderr.write(s + '\n');

  if (args.evidence) {
    const r = await checkEvidenceFile(createReadStream(args.files[0]!), opensslVerifier);
    if (args.csv) for (const line of r.csv) out(line);
    const say = args.csv ? err : out;
    if (args.json) {
      const { lines: _lines, csv: _csv, ...rest } = r;
      say(JSON.stringify(rest, null, 2));
    } else for (const line of r.lines) say(line);
    return 0;
  }
  if (args.consistent) return consistent(args, out);

  const csvOut = args.csv ? out : null;
  const run = await runChain(args.files[0]!, args, false, csvOut);
  const say = args.csv ? err : out;
  if (args.json) say(JSON.stringify({ ...run.report, seconds: run.seconds, tx_per_s: Math.round(run.report.txs / run.seconds), signatures: run.mode }, null, 2));
  else printReport(run.report, run.genesis, run, say);
  if (args.saveHead) {
    if (!run.last?.cert) throw new UsageError('an empty chain has no head to save');
    writeFileSync(args.saveHead, encodeHeadFile(run.genesis, run.last.block, run.last.cert, run.last.state));
    say(`saved head: height ${run.report.head.height} to ${args.saveHead}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof AuditError) {
      process.stderr.write(`FAILED at height ${e.height}: ${e.code}: ${e.reason}\n`);
      process.exit(1);
    }
    if (e instanceof EvidenceError) {
      process.stderr.write(`FAILED: evidence ${e.message}\n`);
      process.exit(1);
    }
    if (e instanceof InconsistentError) {
      process.stderr.write(`FAILED: not consistent: ${e.message}\n`);
      process.exit(1);
    }
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message ? e.message + '\n' : ''}${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
