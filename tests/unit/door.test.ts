// The door (core/door.ts) and reading under M-of-N admission: a stranger may hand a member's node
// only its own join request, is told only how the grid admits and how its own request stands,
// and reads the chain once the voters admitted it (then readRight says member).
import { describe, expect, it } from 'vitest';
import { TestChain } from '../helpers/chain.js';
import { nobleVerifier } from '../../src/core/keys.js';
import type { DecodedTx } from '../../src/core/tx.js';
import type { GridParams } from '../../src/core/params.js';
import { outsiderView, strangerJoinProblem } from '../../src/core/door.js';
import { readRight, type ReadPass } from '../../src/core/reading.js';

const MIN = 60_000;
const THREE: Partial<GridParams> = { admission: { m_of_n: { m: 3 } } };
const FOUNDERS = { a: 'prosumer', b: 'consumer', c: 'producer', d: 'consumer' } as const;

function ask(c: TestChain, name: string, expires_ms: number): DecodedTx {
  return c.tx(name, 'join_request', { pub: c.signer(name).publicKey, role: 'consumer', name: `House ${name}`, expires_ms }, 0);
}
const right = (c: TestChain, name: string, pass: ReadPass | null = null) => readRight(c.state, c.id(name), c.signer(name).publicKey, pass, nobleVerifier);

describe('the door: what a stranger may hand over', () => {
  it('only its own join request, under M-of-N, that the ledger could apply', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    expect(strangerJoinProblem(c.state, c.id('joe'), ask(c, 'joe', 10 * MIN))).toBeNull();
    // Someone else's request, even validly signed by its subject: not through this stranger.
    expect(strangerJoinProblem(c.state, c.id('eve'), ask(c, 'joe', 10 * MIN))).toMatchObject({ code: 'not_permitted' });
    // Any other kind: a stranger cannot use the door to write anything else.
    const other = c.tx('eve', 'transfer', { to: c.id('a'), amount: 1, memo: '' }, 0);
    expect(strangerJoinProblem(c.state, c.id('eve'), other)).toMatchObject({ code: 'not_permitted' });
    // The ledger's cheap checks: expiry, seq 0.
    expect(strangerJoinProblem(c.state, c.id('kim'), ask(c, 'kim', 0))).toMatchObject({ code: 'request_expired' });
    const late = c.tx('lou', 'join_request', { pub: c.signer('lou').publicKey, role: 'consumer', name: 'Lou', expires_ms: 10 * MIN }, 1);
    expect(strangerJoinProblem(c.state, c.id('lou'), late)).toMatchObject({ code: 'skipped_seq' });
    // Where the operator admits, no join request goes on the chain.
    const byOperator = await TestChain.create(FOUNDERS);
    expect(strangerJoinProblem(byOperator.state, byOperator.id('joe'), ask(byOperator, 'joe', 10 * MIN))).toMatchObject({ code: 'not_permitted' });
  });

  it('a second request for the same key is refused while the first is kept', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    c.block([ask(c, 'joe', 10 * MIN)], 1000);
    expect(strangerJoinProblem(c.state, c.id('joe'), ask(c, 'joe', 20 * MIN))).toMatchObject({ code: 'request_exists' });
  });
});

describe('the door: what a stranger is told', () => {
  it('the admission rule, then its own request as the votes come in, and nothing of anyone else', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    expect(outsiderView(c.state, c.id('joe'))).toEqual({ admission: 'm_of_n', join_needed: 3, request: null });
    c.block([ask(c, 'joe', 10 * MIN), ask(c, 'kim', 10 * MIN)], 1000);
    c.block([c.tx('a', 'endorse', { request: 1 }), c.tx('b', 'endorse', { request: 1 }), c.tx('c', 'object', { request: 1 })], 2000);
    expect(outsiderView(c.state, c.id('joe')).request).toEqual({ id: 1, status: 'open', endorsed: 2, objected: 1, needed: 3, expires_ms: 10 * MIN });
    // Kim sees her own request only.
    expect(outsiderView(c.state, c.id('kim')).request).toMatchObject({ id: 2, endorsed: 0 });
    expect(right(c, 'joe').ok).toBe(false);
    c.block([c.tx('d', 'endorse', { request: 1 })], 3000);
    expect(outsiderView(c.state, c.id('joe')).request).toMatchObject({ status: 'admitted', endorsed: 3 });
    // Admitted: it reads as a member from the block that admitted it on.
    expect(right(c, 'joe')).toEqual({ ok: true, as: 'member' });
    // Expired unanswered: it leaves the state with the first block past its expiry.
    c.block([], 11 * MIN);
    expect(outsiderView(c.state, c.id('kim')).request).toBeNull();
  });

  it('a rejected request says so; a grid the operator admits says only that', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    c.block([ask(c, 'joe', 10 * MIN)], 1000);
    c.block([c.tx('a', 'object', { request: 1 }), c.tx('b', 'object', { request: 1 }), c.tx('c', 'object', { request: 1 })], 2000);
    expect(outsiderView(c.state, c.id('joe')).request).toMatchObject({ status: 'rejected', objected: 3 });
    const byOperator = await TestChain.create(FOUNDERS);
    expect(outsiderView(byOperator.state, byOperator.id('joe'))).toEqual({ admission: 'operator', join_needed: null, request: null });
  });
});

describe('reading under M-of-N admission', () => {
  it('an operator invite lets nobody read where the ledger would refuse its admit', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    const pass: ReadPass = { kind: 'invite', invite: c.invite('dan', 'consumer', 10_000, 3) };
    expect(right(c, 'dan', pass)).toMatchObject({ ok: false, reason: /admits members by vote/ });
    const byOperator = await TestChain.create(FOUNDERS);
    expect(right(byOperator, 'dan', { kind: 'invite', invite: byOperator.invite('dan', 'consumer', 10_000, 3) })).toEqual({ ok: true, as: 'invite' });
  });
});
