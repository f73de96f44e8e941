// A small certified chain with a market on it, for the export, audit and evidence tests: the
// worked settlement example (one producer, two consumers, four intervals, a price above one
// limit, a producer that stops), plus a member admitted and promoted, a transfer, a withdrawal,
// a failed transaction, and commit certificates signed by exactly a quorum of the voters at
// their height.
import { contractsOf, TestChain } from './chain.js';
import { ackMessage, type Ack } from '../../src/core/block.js';
import { votersOf } from '../../src/core/ledger.js';
import { quorumSize } from '../../src/core/block.js';
import type { CertifiedBlock } from '../../src/core/export.js';
import type { ContractStatement, Statement } from '../../src/core/settlement.js';

const MIN = 60_000;
const at = (interval: number, ms = 1000) => interval * MIN + ms;

export interface MarketChain {
  c: TestChain;
  blocks: CertifiedBlock[];
  /** Every statement with the height of the block that settled it, in order. */
  statements: (ContractStatement & { height: number })[];
  /** With the households' energy statements (settlement rule 3), as the app lists them. */
  all: (Statement & { height: number })[];
}

/** `rotate`: the operator hands its key to `op2` after publishing the first two prices; `op2` publishes the rest. */
export async function marketChain(opts: { cert_every?: number; rotate?: boolean } = {}): Promise<MarketChain> {
  const every = opts.cert_every ?? 3;
  const c = await TestChain.create({ P1: 'producer', C1: 'consumer', C2: 'consumer' });
  const P1 = c.id('P1');
  const statements: MarketChain['statements'] = [];
  const all: MarketChain['all'] = [];
  const run = (txs: ReturnType<TestChain['tx']>[], time_ms: number) => {
    const r = c.block(txs, time_ms);
    for (const s of r.statements) all.push({ ...s, height: c.state.height });
    for (const s of contractsOf(r.statements)) statements.push({ ...s, height: c.state.height });
    return r;
  };
  run(
    [
      c.tx('operator', 'mint', { to: c.id('C1'), amount: 10_000, ref: 'deposit C1' }),
      c.tx('operator', 'mint', { to: c.id('C2'), amount: 10_000, ref: 'deposit C2' }),
      ...[250, 250, 400, 250, 250, 250].slice(0, opts.rotate ? 2 : 6).map((price, i) => c.tx('operator', 'price', { interval: i + 1, price })),
      c.tx('P1', 'offer', { first_interval: 1, last_interval: 10 }),
    ],
    at(0),
  );
  const op = opts.rotate ? 'op2' : 'operator';
  if (opts.rotate) {
    run([c.tx('operator', 'rotate_operator', { pub: c.signer('op2').publicKey })], at(0, 1200));
    run([c.tx('op2', 'promote', { member: c.id('op2') }), ...[400, 250, 250, 250].map((price, i) => c.tx('op2', 'price', { interval: i + 3, price }))], at(0, 1400));
  }
  run(
    [
      c.tx('C1', 'contract', { producer: P1, first_interval: 1, last_interval: 4, max_energy_wh: 5000, max_price: 300, lock: 1000 }),
      c.tx('C2', 'contract', { producer: P1, first_interval: 1, last_interval: 4, max_energy_wh: 5000, max_price: 500, lock: 2000 }),
    ],
    at(0, 2000),
  );
  run([c.tx(op, 'admit', { member: c.id('D'), pub: c.signer('D').publicKey, role: 'prosumer', invite: null })], at(0, 3000));
  run([c.tx(op, 'promote', { member: c.id('D') })], at(0, 4000));
  const reg = { C1: 10_000, C2: 20_000, P1: 50_000 };
  run(
    (['C1', 'C2', 'P1'] as const).map((m) => c.tx(m, 'meter', { interval: 0, import_wh: m === 'P1' ? 0 : reg[m], export_wh: m === 'P1' ? reg.P1 : 0 })),
    at(1),
  );
  const readings: [number, number, number, number | null][] = [
    [1, 600, 500, 800],
    [2, 400, 300, 1000],
    [3, 500, 200, 600],
    [4, 300, 100, null],
  ];
  for (const [interval, c1, c2, p1] of readings) {
    reg.C1 += c1;
    reg.C2 += c2;
    const txs = [c.tx('C1', 'meter', { interval, import_wh: reg.C1, export_wh: 0 }), c.tx('C2', 'meter', { interval, import_wh: reg.C2, export_wh: 0 })];
    if (p1 !== null) {
      reg.P1 += p1;
      txs.push(c.tx('P1', 'meter', { interval, import_wh: 0, export_wh: reg.P1 }));
    }
    if (interval === 2) {
      txs.push(c.tx('C1', 'transfer', { to: c.id('D'), amount: 100, memo: 'thanks' }));
      txs.push(c.tx('D', 'transfer', { to: c.id('C1'), amount: 1000, memo: 'overdraft' })); // fails: D holds only 100
    }
    run(txs, at(interval + 1));
  }
  run([c.tx('C2', 'withdraw', { amount: 500 })], at(6));
  run([], at(7));

  return { c, blocks: certify(c, ['operator', 'op2', 'P1', 'C1', 'C2', 'D'], every), statements, all };
}

/** Certificates for a test chain: every `every` blocks and the last, acks from exactly a quorum of the voters (named). */
export function certify(c: TestChain, signers: string[], every: number): CertifiedBlock[] {
  const blocks: CertifiedBlock[] = c.blocks.map((block) => ({ block, cert: null }));
  c.blocks.forEach((block, i) => {
    const height = i + 1;
    if (height % every !== 0 && height !== c.blocks.length) return;
    const state = c.results[i]!.state;
    const voters = votersOf(state);
    const need = quorumSize(voters.size, state.params.commit_quorum);
    const acks: Ack[] = signers
      .filter((n) => voters.has(c.id(n)))
      .slice(0, need)
      .map((n) => ({ voter: c.id(n), sig: c.signer(n).signSync(ackMessage(state.chain_id, height, state.last_hash)) }));
    blocks[i] = { block, cert: acks };
  });
  return blocks;
}
