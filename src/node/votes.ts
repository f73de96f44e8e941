// Read model of the grid's governance for the page: the admission policy, thresholds now, and
// every request kept in state with its endorsements and what this node may do. Reads only;
// views.ts calls it.
import { toHex } from '../core/bytes.js';
import type { NodeId } from '../core/keys.js';
import type { LedgerState } from '../core/state.js';
import { admissionOf, policyThreshold, recoveryThreshold, tally } from '../core/governance.js';
import { paysOutLeavers } from '../core/exit.js';
import type { GovernanceView, RequestView } from './types.js';

export function governanceView(state: LedgerState, me: NodeId): GovernanceView {
  const rule = admissionOf(state.params);
  const voters = [...state.members.values()].filter((m) => m.voter && !m.removed);
  const mine = state.members.get(me);
  const iVote = !!mine && mine.voter && !mine.removed;
  const requests: RequestView[] = [...state.requests.values()]
    .sort((a, b) => (a.status === 'open') === (b.status === 'open') ? b.id - a.id : a.status === 'open' ? -1 : 1)
    .map((q) => {
      const t = tally(state, q);
      const my_vote = q.endorsed.includes(me) ? 'endorsed' : q.objected.includes(me) ? 'objected' : null;
      const eligible = iVote && !(q.kind === 'remove' && q.subject === me) && !(q.kind === 'operator' && state.operator === me);
      return {
        id: q.id,
        kind: q.kind,
        subject: q.subject,
        name: q.name ?? null,
        role: q.role ?? null,
        pub: q.pub ? toHex(q.pub) : null,
        by: q.by,
        opened_height: q.opened_height,
        expires_ms: q.expires_ms,
        endorsed: [...q.endorsed],
        objected: [...q.objected],
        tally: t,
        status: q.status,
        closed_height: q.closed_height ?? null,
        my_vote,
        // The operator's objection to a recovery is its veto: it may always cast it.
        can_vote: q.status === 'open' && q.expires_ms >= state.time_ms && my_vote === null && (eligible || (q.kind === 'operator' && state.operator === me && iVote)),
      };
    });
  return {
    policy: !rule ? { kind: 'operator' } : 'm' in rule ? { kind: 'm_of_n', m: rule.m } : { kind: 'm_of_n', fraction: [rule.fraction[0], rule.fraction[1]] },
    voters: voters.length,
    join_needed: rule ? policyThreshold(rule, voters.length) : null,
    recovery_needed: recoveryThreshold(voters.filter((m) => m.id !== state.operator).length),
    pays_out_leavers: paysOutLeavers(state.params),
    requests,
  };
}

/** Open requests this node could vote on now (for the home page's reminder). */
export function votesWaiting(view: GovernanceView): number {
  return view.requests.filter((r) => r.can_vote).length;
}
