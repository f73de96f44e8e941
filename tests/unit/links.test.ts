// Who links to whom (core/links.ts): voters in a full mesh, every non-voter to at most
// learner_links voters, the leader among them while it waits for promotion; symmetric, stable.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allLinks, chosenVoters, learnerLinksOf, linked, linkViewOf, prunes, type LinkView } from '../../src/core/links.js';
import { checkParams, DEFAULT_LEARNER_LINKS, DEFAULT_PARAMS } from '../../src/core/params.js';
import { TestChain } from '../helpers/chain.js';
import { offersTo } from '../../src/net/peer-links.js';

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

/** A grid: some voters, some non-voters, some of them promotable, maybe a leader. */
const grids = fc
  .record({ v: fc.integer({ min: 1, max: 12 }), l: fc.integer({ min: 0, max: 40 }), k: fc.integer({ min: 1, max: 5 }), leader: fc.nat(), promo: fc.array(fc.boolean(), { maxLength: 40 }), withLeader: fc.boolean() })
  .map(({ v, l, k, leader, promo, withLeader }) => {
    const voters = ids('v', v);
    const others = ids('n', l);
    const view: LinkView = {
      voters,
      learner_links: k,
      leader: withLeader ? voters[leader % v]! : null,
      promotable: new Set(others.filter((_, i) => promo[i] === true)),
    };
    return { voters, others, view, nodes: [...voters, ...others] };
  });

describe('peer links beyond the full mesh', () => {
  it('is symmetric; voters form a clique; non-voters never link to each other', () => {
    fc.assert(
      fc.property(grids, ({ voters, others, view, nodes }) => {
        for (const a of nodes) for (const b of nodes) expect(linked(a, b, view)).toBe(linked(b, a, view));
        for (const a of voters) for (const b of voters) expect(linked(a, b, view)).toBe(a !== b);
        for (const a of others) for (const b of others) expect(linked(a, b, view)).toBe(false);
      }),
      { numRuns: 25 },
    );
  });

  it('every non-voter holds min(k, voters) links, all to voters, the leader among them when it waits for promotion', () => {
    fc.assert(
      fc.property(grids, ({ voters, others, view, nodes }) => {
        for (const x of others) {
          const mine = nodes.filter((y) => linked(x, y, view));
          expect(mine.length).toBe(Math.min(view.learner_links, voters.length));
          expect(mine.every((y) => voters.includes(y))).toBe(true);
          expect(new Set(chosenVoters(x, view))).toEqual(new Set(mine));
          if (view.leader && view.promotable.has(x)) expect(mine).toContain(view.leader);
          // The leader serves no other learner while enough other voters exist.
          if (view.leader && !view.promotable.has(x) && voters.length > view.learner_links) expect(mine).not.toContain(view.leader);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('the number of links is v(v-1)/2 + k·l: linear in the learners, not quadratic', () => {
    fc.assert(
      fc.property(grids, ({ voters, others, view, nodes }) => {
        const links = allLinks(nodes, view);
        const v = voters.length;
        expect(links.length).toBe((v * (v - 1)) / 2 + Math.min(view.learner_links, v) * others.length);
        expect(new Set(links.map(([a, b]) => `${a}|${b}`)).size).toBe(links.length);
        for (const [a, b] of links) expect(linked(a, b, view)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('a leader change moves at most one link per learner (old leader in, new leader out)', () => {
    fc.assert(
      fc.property(grids, fc.nat(), ({ voters, others, view }, pick) => {
        const next = voters[pick % voters.length]!;
        const before = { ...view, promotable: new Set<string>() };
        const after = { ...before, leader: next };
        for (const x of others) {
          const was = new Set(chosenVoters(x, before));
          const now = chosenVoters(x, after);
          expect(now.filter((v) => !was.has(v)).length).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('stable: a voter leaving moves only the links of the non-voters that had it', () => {
    fc.assert(
      fc.property(grids, fc.nat(), ({ voters, others, view }, pick) => {
        if (voters.length < 2) return;
        const gone = voters[pick % voters.length]!;
        const leader = view.leader === gone ? null : view.leader;
        const before = { ...view, leader };
        const after: LinkView = { ...before, voters: voters.filter((v) => v !== gone) };
        for (const x of others) {
          const was = chosenVoters(x, before);
          const now = chosenVoters(x, after);
          if (!was.includes(gone)) expect(now).toEqual(was);
          else expect(was.filter((v) => v !== gone).every((v) => now.includes(v))).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('promotion: the promoted learner joins the full mesh; demotion: the demoted voter keeps k links', () => {
    const voters = ids('v', 7);
    const learners = ids('n', 30);
    const view: LinkView = { voters, learner_links: 3, leader: voters[0]!, promotable: new Set() };
    const x = learners[4]!;
    expect(voters.filter((v) => linked(x, v, view))).toHaveLength(3);
    const promoted: LinkView = { ...view, voters: [...voters, x] };
    expect(voters.every((v) => linked(x, v, promoted))).toBe(true);
    expect(learners.filter((y) => linked(x, y, promoted)).length).toBeGreaterThan(0); // some learners now chose it
    const demoted: LinkView = { ...view, voters: voters.slice(1) };
    expect(voters.slice(1).filter((v) => linked(voters[0]!, v, demoted))).toHaveLength(3);
  });

  it('only the non-voter end prunes a link its view does not want', () => {
    const voters = ids('v', 7);
    const view: LinkView = { voters, learner_links: 3, leader: null, promotable: new Set() };
    const x = 'n000';
    const unwanted = voters.find((v) => !linked(x, v, view))!;
    expect(prunes(x, unwanted, view)).toBe(true);
    expect(prunes(unwanted, x, view)).toBe(false); // the voter keeps what a peer made to it
    expect(prunes(x, chosenVoters(x, view)[0]!, view)).toBe(false);
    expect(prunes(x, 'n001', view)).toBe(true);
  });

  it('spreads non-voters over the voters (no voter carries more than twice its share of 193)', () => {
    const voters = ids('v', 7);
    const learners = ids('n', 193);
    const view: LinkView = { voters, learner_links: 3, leader: null, promotable: new Set() };
    const load = new Map(voters.map((v) => [v, 0]));
    for (const x of learners) for (const v of chosenVoters(x, view)) load.set(v, load.get(v)! + 1);
    const share = (193 * 3) / 7;
    for (const n of load.values()) expect(n).toBeLessThan(2 * share);
  });

  it('reads the view from the chain: voters, households waiting for promotion, the genesis parameter', async () => {
    const c = await TestChain.create({ a: 'consumer', b: 'consumer' });
    c.block([c.tx('operator', 'admit', { member: c.id('h'), pub: c.signer('h').publicKey, role: 'prosumer', invite: null })], 1000);
    c.block([c.tx('operator', 'admit', { member: c.id('aud'), pub: c.signer('aud').publicKey, role: 'auditor', invite: null })], 2000);
    expect(c.results.every((r) => r.receipts.every((x) => x.ok))).toBe(true);
    const view = linkViewOf(c.state, c.id('a'));
    expect(new Set(view.voters)).toEqual(new Set([c.id('operator'), c.id('a'), c.id('b')]));
    expect([...view.promotable]).toEqual([c.id('h')]); // the auditor never votes
    expect(view.learner_links).toBe(DEFAULT_LEARNER_LINKS);
    expect(chosenVoters(c.id('h'), view)[0]).toBe(c.id('a')); // the leader first
    expect(learnerLinksOf({ ...DEFAULT_PARAMS, learner_links: 5 })).toBe(5);
    expect(checkParams({ ...DEFAULT_PARAMS, learner_links: 0 })).toMatch(/learner_links/);
    expect(checkParams({ ...DEFAULT_PARAMS, learner_links: 17 })).toMatch(/learner_links/);
    expect(checkParams({ ...DEFAULT_PARAMS, learner_links: 4 })).toBeNull();
  });

  it('with every seat of max_voters taken, no household waits for promotion (none links to the leader for it)', async () => {
    const c = await TestChain.create({ a: 'consumer', b: 'consumer' }, { max_voters: 3, learner_links: 2 });
    c.block([c.tx('operator', 'admit', { member: c.id('h'), pub: c.signer('h').publicKey, role: 'prosumer', invite: null })], 1000);
    expect(c.results.every((r) => r.receipts.every((x) => x.ok))).toBe(true);
    const view = linkViewOf(c.state, c.id('a'));
    expect(view.voters).toHaveLength(3);
    expect([...view.promotable]).toEqual([]);
    expect(chosenVoters(c.id('h'), view)).not.toContain(c.id('a')); // not the leader: its followers serve h
  });

  it('who offers: the smaller id between voters, the voter toward a non-voter, nobody without a view or a link', () => {
    const voters = ids('v', 7);
    const view: LinkView = { voters, learner_links: 3, leader: voters[0]!, promotable: new Set() };
    expect(offersTo('v001', 'v002', view)).toBe(true);
    expect(offersTo('v002', 'v001', view)).toBe(false);
    const x = 'a-joiner'; // sorts before every voter: the id rule alone would make it offer
    const mine = chosenVoters(x, view);
    for (const v of mine) {
      expect(offersTo(v, x, view)).toBe(true);
      expect(offersTo(x, v, view)).toBe(false);
    }
    const other = voters.find((v) => !mine.includes(v))!;
    expect(offersTo(other, x, view)).toBe(false);
    expect(offersTo('v001', 'v002', null)).toBe(false);
    fc.assert(
      fc.property(grids, ({ nodes, view: w }) => {
        // Exactly one end of every link offers; no end offers where there is no link.
        for (const a of nodes) for (const b of nodes) if (a < b) expect(Number(offersTo(a, b, w)) + Number(offersTo(b, a, w))).toBe(linked(a, b, w) ? 1 : 0);
      }),
      { numRuns: 20 },
    );
  });
});
