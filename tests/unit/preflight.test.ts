// Preflight: the ledger's verdict on a body before it is signed, in plain words. The
// property at the end checks the verdict is exactly the receipt the block would give.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TestChain } from '../helpers/chain.js';
import { preflight, formatDuration, type Verdict } from '../../src/core/preflight.js';
import { stateRoot } from '../../src/core/ledger.js';
import { inviteMessage, CachingVerifier, type TxBody, type TxKind } from '../../src/core/tx.js';
import { nobleVerifier } from '../../src/core/keys.js';
import type { Fields } from '../helpers/chain.js';

const MIN = 60_000;
const at = (interval: number) => interval * MIN + 1000;

/** An unsigned body from `name` with its next sequence number (not consumed). */
function body<K extends TxKind>(c: TestChain, name: string, kind: K, fields: Fields<K>, seq?: number): TxBody {
  const signer = c.signer(name);
  return { v: 1, chain: c.state.chain_id, kind, from: signer.id, seq: seq ?? c.state.members.get(signer.id)?.seq ?? 0, ...fields } as unknown as TxBody;
}

async function market() {
  const c = await TestChain.create({ P: 'producer', C: 'consumer' });
  c.block(
    [
      c.tx('operator', 'mint', { to: c.id('C'), amount: 10_000, ref: '' }),
      c.tx('P', 'rename', { name: 'Piet' }),
      c.tx('P', 'offer', { first_interval: 1, last_interval: 60 }),
      c.tx('operator', 'price', { interval: 1, price: 18 }),
    ],
    at(0),
  );
  const contract = (fields: Partial<Fields<'contract'>> = {}) =>
    body(c, 'C', 'contract', { producer: c.id('P'), first_interval: 1, last_interval: 30, max_energy_wh: 5000, max_price: 50, lock: 1000, ...fields });
  return { c, contract };
}

const refusal = (v: Verdict) => (v.ok ? ['ok', ''] : [v.code, v.reason]);

describe('preflight', () => {
  it('refuses what the ledger would refuse, in plain words with amounts in tokens', async () => {
    const { c, contract } = await market();
    const s = c.state;
    expect(refusal(preflight(s, contract({ lock: 50_000 })))).toEqual(['insufficient_funds', 'Your balance is 100.00 GT, the contract needs 500.00 GT.']);
    expect(refusal(preflight(s, contract({ first_interval: 5, last_interval: 4 })))).toEqual(['invalid_period', 'A contract must last at least one interval (1 min).']);
    expect(refusal(preflight(s, contract({ first_interval: 5, last_interval: 2 })))).toEqual(['invalid_period', 'A contract must last at least one interval (1 min).']);
    expect(refusal(preflight(s, contract({ last_interval: 1_000_000 })))).toEqual(['invalid_period', 'A contract may last at most 31 days; this one would last 694 days 10 h.']);
    expect(refusal(preflight(s, contract({ first_interval: 20_000, last_interval: 20_001 })))).toEqual(['interval_future', 'A contract may start at most 7 days ahead; this one would start in 13 days 21 h.']);
    expect(refusal(preflight(s, contract({ last_interval: 90 })))).toEqual(['no_offer', "Piet's offer ends in 1 h 1 min, before your contract would (in 1 h 31 min). Shorten the contract, or ask Piet for a longer offer."]);
    expect(refusal(preflight(s, contract({ producer: c.id('C') })))).toEqual(['not_permitted', 'You cannot sign a contract with yourself.']);
    expect(refusal(preflight(s, contract({ producer: c.id('operator') })))).toEqual(['not_permitted', 'Your role (consumer) may not do this.']);
    expect(refusal(preflight(s, body(c, 'C', 'withdraw', { amount: 15_000 })))).toEqual(['insufficient_funds', 'Your balance is 100.00 GT; you asked to withdraw 150.00 GT.']);
    expect(refusal(preflight(s, body(c, 'C', 'transfer', { to: c.id('C'), amount: 1, memo: '' })))).toEqual(['not_permitted', 'You cannot send tokens to yourself.']);
    expect(refusal(preflight(s, body(c, 'C', 'rename', { name: '' })))).toEqual(['malformed', 'The name must not be empty.']);
    expect(refusal(preflight(s, body(c, 'C', 'transfer', { to: c.id('P'), amount: 0, memo: '' })))[0]).toBe('malformed');
    expect(refusal(preflight(s, body(c, 'C', 'offer', { first_interval: 1, last_interval: 2 })))).toEqual(['not_permitted', 'Your role (consumer) may not do this.']);
    expect(refusal(preflight(s, body(c, 'stranger', 'withdraw', { amount: 1 })))).toEqual(['unknown_account', 'You are not a member of this grid (yet).']);
  });

  it('one contract at a time; ok with warnings for what is allowed but surely unintended', async () => {
    const { c, contract } = await market();
    expect(preflight(c.state, contract())).toEqual({ ok: true, warnings: [] });
    expect(preflight(c.state, contract({ lock: 0, max_price: 10 }))).toEqual({
      ok: true,
      warnings: [
        'Nothing is locked: the contract cannot pay for any energy until you add funds.',
        'The price when the contract starts (0.18 GT/kWh) is above your limit (0.10 GT/kWh): nothing trades while it stays there.',
      ],
    });
    c.block([c.tx('C', 'contract', { producer: c.id('P'), first_interval: 1, last_interval: 30, max_energy_wh: 5000, max_price: 50, lock: 1000 })], at(0) + 10);
    expect(refusal(preflight(c.state, contract()))).toEqual(['contract_exists', 'You already have a contract with Piet, ending in 31 min. One contract at a time: cancel it or wait until it ends.']);
  });

  it('counts the sender’s pending transactions, and the time the next block would have', async () => {
    const { c, contract } = await market();
    const pending = [body(c, 'C', 'transfer', { to: c.id('P'), amount: 9500, memo: '' })];
    const next = contract({ lock: 1000 });
    (next as { seq: number }).seq = 1;
    expect(refusal(preflight(c.state, next, { pending }))).toEqual(['insufficient_funds', 'Your balance is 5.00 GT, the contract needs 10.00 GT.']);
    // Without the pending transfer, seq 1 skips ahead: the ledger's verdict, in plain words.
    expect(refusal(preflight(c.state, next))).toEqual(['skipped_seq', 'Another transaction of yours is still on its way. Try again in a moment.']);
    // Five minutes on, interval 1 has begun: the period has started already.
    expect(refusal(preflight(c.state, contract(), { at_ms: at(5) }))).toEqual(['interval_closed', 'That start time has passed (4 min ago). Start now or later.']);
  });

  it('tells a joiner at once that an invite is used, expired or forged', async () => {
    const c = await TestChain.create();
    const join = (name: string, inv: (joiner: string) => ReturnType<typeof c.invite>) => {
      const s = c.signer(name);
      return body(c, name, 'admit', { member: s.id, pub: s.publicKey, role: 'consumer', invite: inv(name), name: 'Neighbour' }, 0);
    };
    // Invites (v2) are redeemed for the joiner's own key; `fill` picks the one-time key.
    const invite = (fill: number, expires_ms: number, granter = c.operator) => (joiner: string) => c.invite(joiner, 'consumer', expires_ms, fill, granter);
    const used = invite(1, 100 * MIN);
    c.block([c.tx('dan', 'admit', { member: c.id('dan'), pub: c.signer('dan').publicKey, role: 'consumer', invite: used('dan') }, 0)], 1000);
    expect(preflight(c.state, join('eve', invite(2, 100 * MIN)))).toEqual({ ok: true, warnings: [] });
    expect(refusal(preflight(c.state, join('eve', used)))).toEqual(['invite_used', 'This invite was used already. Ask the operator for a new one, or ask to join.']);
    expect(refusal(preflight(c.state, join('eve', invite(3, 500)), { at_ms: 2 * MIN + 500 }))).toEqual(['invite_expired', 'This invite expired 2 min ago. Ask the operator for a new one, or ask to join.']);
    expect(refusal(preflight(c.state, join('eve', invite(4, 100 * MIN, c.signer('forger')))))[0]).toBe('bad_invite');
  });

  it('never changes the state it is given', async () => {
    const { c, contract } = await market();
    const root = stateRoot(c.state);
    preflight(c.state, contract(), { at_ms: at(10), pending: [body(c, 'C', 'withdraw', { amount: 1 })] });
    preflight(c.state, contract({ lock: 10 ** 9 }));
    expect(stateRoot(c.state)).toEqual(root);
  });

  it('formats durations plainly', () => {
    expect([15_000, 60_000, 90_000, 3_600_000, 5_400_000, 86_400_000, 31 * 86_400_000, 90_000_000].map(formatDuration)).toEqual([
      '15 s', '1 min', '1 min 30 s', '1 h', '1 h 30 min', '1 day', '31 days', '1 day 1 h',
    ]);
  });
});

// ---- the verdict is the ledger's ----------------------------------------------------------

const MEMBERS = ['P', 'C', 'X'] as const;
const verifier = new CachingVerifier(nobleVerifier);

const op = fc.record({
  who: fc.nat(MEMBERS.length), // MEMBERS.length: the operator
  kind: fc.nat(9),
  target: fc.nat(MEMBERS.length - 1),
  amount: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 30_000 })),
  first: fc.integer({ min: -2, max: 12 }),
  length: fc.integer({ min: -2, max: 12 }),
  plausible: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});
// Who usually sends each kind (the rest of the time, anyone: to hit not_permitted too).
const USUAL = ['C', 'P', 'C', 'X', 'C', 'C', 'operator', 'X', 'operator', 'operator'] as const;

describe('preflight agrees with the ledger', () => {
  it('on random bodies, the verdict code is the receipt code of the same tx in the next block', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const c = await TestChain.create({ P: 'producer', C: 'consumer', X: 'prosumer' }, { contract_max_intervals: 8, contract_start_max_intervals: 6 });
        c.verifier = verifier;
        c.block([c.tx('operator', 'mint', { to: c.id('C'), amount: 20_000, ref: '' }), c.tx('operator', 'mint', { to: c.id('X'), amount: 500, ref: '' })], 1000);
        let time = 1000;
        for (const o of ops) {
          time += 20_000;
          const who = o.plausible ? USUAL[o.kind]! : o.who === MEMBERS.length ? 'operator' : MEMBERS[o.who]!;
          const target = c.id(MEMBERS[o.target]!);
          const now = Math.floor(time / MIN);
          const first = Math.max(0, now + o.first);
          const last = Math.max(0, first + o.length);
          const fields = [
            ['contract', { producer: target, first_interval: first, last_interval: last, max_energy_wh: 100, max_price: 50, lock: o.amount }],
            ['offer', { first_interval: first, last_interval: last }],
            ['transfer', { to: target, amount: o.amount, memo: '' }],
            ['withdraw', { amount: o.amount }],
            ['fund', { contract: 1 + (o.target % 3), amount: o.amount }],
            ['cancel', { contract: 1 + (o.target % 3) }],
            ['price', { interval: first, price: o.amount % 100 }],
            ['rename', { name: `n${o.amount}` }],
            ['mint', { to: target, amount: o.amount, ref: '' }],
            ['remove', { member: target }],
          ] as const;
          const [kind, f] = fields[o.kind]!;
          const b = body(c, who, kind, f as never);
          const verdict = preflight(c.state, b, { at_ms: time });
          const tx = c.tx(who, kind, f as never, b.seq);
          const receipt = c.block([tx], time).receipts[0]!;
          expect(verdict.ok ? 'ok' : verdict.code).toBe(receipt.ok ? 'ok' : receipt.code);
          if (!verdict.ok && !receipt.ok) expect(verdict.ledger_reason).toBe(receipt.reason);
        }
      }),
      { numRuns: 40 },
    );
  });
});
