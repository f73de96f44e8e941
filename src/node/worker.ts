// The dedicated worker's entry: one GridNode per tab, and the API the page calls through
// comlink — a facade that only delegates to the node's rooms. A test build (`vite build
// --mode test`) adds the test controls of test-controls.ts; production builds never load them.
import * as Comlink from 'comlink';
import { GridNode } from './node.js';
import type { SyncVerification } from '../core/replica.js';
import type { Role } from '../core/tx.js';
import type { GridParams } from '../core/params.js';
import type { NodeId } from '../core/keys.js';
import type { MeterProfile, MeterRegisters } from '../meter/simulated.js';
import type { ScheduleDraft } from '../market/schedule.js';
import type { SubmitFields } from './types.js';
import type { LinkFingerprints } from '../core/handshake.js';
import { signalingProof } from './peers.js';

/** True only in the test build: Vite replaces MODE, and the branch below drops out otherwise. */
const TEST_BUILD = import.meta.env.MODE === 'test';

let node: GridNode | null = null;

function need(): GridNode {
  if (!node) throw new Error('the node is not started yet');
  return node;
}

const api = {
  async init(db_name: string, grid_hint: string | null) {
    if (!node) {
      node = await GridNode.open(db_name, grid_hint);
      if (TEST_BUILD) Object.assign(api, (await import('./test-controls.js')).testControls(node));
    } else if (grid_hint && !node.grid) await node.setGrid(grid_hint);
    return { id: node.id, grid: node.grid, created: node.created };
  },
  // The grid and this node's place in it.
  createGrid: (name: string, params?: Partial<GridParams>) => need().createGrid(name, params),
  setGrid: (grid: string) => need().setGrid(grid),
  addChannel: (peer: NodeId, gen: number, channel: RTCDataChannel, fingerprints: LinkFingerprints) => need().hub.addChannel(peer, gen, channel, fingerprints),
  /** The signaling server's join proof: signs only (challenge, own grid, own id), see peers.ts. */
  signSignalingChallenge: (challenge: Uint8Array, room: string) => signalingProof(need().ctx.signer, need().grid, challenge, room),
  onPeerClosed: (cb: (id: NodeId, gen: number) => void) => need().hub.onPeerClosed(cb),
  leave: () => need().leave(),
  /** Another tab takes this household over: stop for good (the page ends the worker next). */
  stop: () => need().stop(),
  transferLeadership: (target?: NodeId) => need().driver.transferLeadership(target),
  setSyncVerification: (mode: SyncVerification) => need().sync.setVerification(mode),
  // Reading (views.ts, wallet.ts, market.ts).
  status: () => need().views.status(),
  /** The partial mesh's link view (core/links.ts) the page's PeerLinks follows; null before the chain is known. */
  linkView: () => need().mesh.viewData(),
  members: () => need().views.members(),
  balances: () => need().views.balances(),
  governance: () => need().views.governance(),
  blocks: (before: number | null, count: number) => need().views.blocks(before, count),
  block: (height: number) => need().views.block(height),
  proveTx: (height: number, index: number) => need().views.proveTx(height, index),
  headerHash: (height: number) => need().views.headerHash(height),
  history: (limit: number) => need().wallet.history(limit),
  marketView: () => {
    const n = need();
    return n.ctx.replica ? n.market.view(n.ctx.replica.state) : null;
  },
  statements: (limit: number) => need().market.myStatements(need().ctx.isOperator(), Math.min(limit, 500)),
  // The auditor's downloads (exports.ts): streams are transferred to the page, not copied.
  exportChain: () => {
    const s = need().exports.chain();
    return Comlink.transfer(s, [s as unknown as Transferable]);
  },
  exportEvidence: (household?: NodeId) => {
    const s = need().exports.evidence(household);
    return Comlink.transfer(s, [s as unknown as Transferable]);
  },
  savedHead: () => need().exports.savedHead(),
  proveExtends: (old_height: number) => need().exports.proveExtends(old_height),
  // This node's transactions (outbox.ts) and requests (member-desk.ts).
  preflight: (fields: SubmitFields) => need().outbox.preflight(fields),
  submit: (fields: SubmitFields) => need().outbox.submit(fields, { entry: true }),
  submitBytes: (bytes: Uint8Array) => need().outbox.submitBytes(bytes),
  txStatus: (id: string) => need().outbox.status(id),
  checkInvite: (token: string) => need().memberDesk.checkInvite(token),
  holdInvite: (token: string) => need().memberDesk.holdInvite(token),
  holdRekey: (token: string) => need().memberDesk.holdRekey(token),
  acceptInvite: (token: string, name?: string) => need().memberDesk.acceptInvite(token, name),
  checkRekey: (token: string) => need().memberDesk.checkRekey(token),
  acceptRekey: (token: string) => need().memberDesk.acceptRekey(token),
  requestJoin: (role: Role, name: string) => need().memberDesk.requestJoin(role, name),
  requestDeposit: (amount: number, ref: string) => need().memberDesk.requestDeposit(amount, ref),
  // Invites granted by the voters, under M-of-N admission (voter-invites.ts).
  startVoterInvite: (role: Role, ttl_ms: number) => need().voterInvites.start(role, ttl_ms),
  grantVoterInvite: (request: string) => need().voterInvites.grant(request),
  addVoterGrant: (id: string, grant: string) => need().voterInvites.add(id, grant),
  // The operator's desk (operator-desk.ts).
  makeInvite: (role: Role, ttl_ms: number) => need().operatorDesk.makeInvite(role, ttl_ms),
  makeRekeyInvite: (member: NodeId, ttl_ms: number) => need().operatorDesk.makeRekeyInvite(member, ttl_ms),
  approveJoin: (id: NodeId) => need().operatorDesk.approveJoin(id),
  confirmDeposit: (index: number) => need().operatorDesk.confirmDeposit(index),
  commitSchedule: (draft: ScheduleDraft, effective_interval?: number) => need().operatorDesk.commitSchedule(draft, effective_interval),
  // The meter (market.ts).
  meterStatus: () => need().market.meterStatus(),
  useSimulatedMeter: (profile?: MeterProfile, speed?: number, sim_start_hour?: number) => need().useSimulatedMeter(profile, speed, sim_start_hour),
  serialReading: (regs: MeterRegisters) => need().market.serialReading(regs),
  rememberSerialMeter: (profile: string) => need().rememberSerialMeter(profile),
  meterError: (code: string) => need().market.meterError(code.slice(0, 40)),
  stopMeter: () => need().market.stopMeter(),
};

export type NodeApi = typeof api;

Comlink.expose(api);
