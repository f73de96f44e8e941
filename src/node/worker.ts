// The dedicated worker's entry: one GridNode per tab, exposed to the page with comlink.
import * as Comlink from 'comlink';
import { GridNode, type ChainBundle } from './node.js';
import type { SyncVerification } from '../core/replica.js';
import type { Role } from '../core/tx.js';
import type { GridParams } from '../core/params.js';
import type { NodeId } from '../core/keys.js';
import type { LinkFingerprints } from '../core/handshake.js';
import { signalingProof } from './peers.js';
import type { MeterProfile, MeterRegisters } from '../meter/simulated.js';
import type { PriceSchedule } from '../market/schedule.js';

let node: GridNode | null = null;

function need(): GridNode {
  if (!node) throw new Error('the node is not started yet');
  return node;
}

type SubmitFields = Parameters<GridNode['submit']>[0];

const api = {
  async init(db_name: string, grid_hint: string | null) {
    if (!node) node = await GridNode.open(db_name, grid_hint);
    else if (grid_hint && !node.grid) await node.setGrid(grid_hint);
    return { id: node.id, grid: node.grid };
  },
  createGrid: (name: string, params?: Partial<GridParams>) => need().createGrid(name, params),
  setGrid: (grid: string) => need().setGrid(grid),
  status: () => need().status(),
  members: () => need().members(),
  blocks: (before: number | null, count: number) => need().blocks(before, count),
  block: (height: number) => need().block(height),
  proveTx: (height: number, index: number) => need().proveTx(height, index),
  headerHash: (height: number) => need().headerHash(height),
  submit: (fields: SubmitFields) => need().submit(fields),
  submitBytes: (bytes: Uint8Array) => need().submitBytes(bytes),
  txStatus: (id: string) => need().txStatus(id),
  makeInvite: (role: Role, ttl_ms: number) => need().makeInvite(role, ttl_ms),
  acceptInvite: (token: string) => need().acceptInvite(token),
  requestJoin: (role: Role, name: string) => need().requestJoin(role, name),
  approveJoin: (id: NodeId) => need().approveJoin(id),
  addChannel: (peer: NodeId, gen: number, channel: RTCDataChannel, fingerprints: LinkFingerprints) => need().addChannel(peer, gen, channel, fingerprints),
  /** The signaling server's join proof: signs only (challenge, own grid, own id), see peers.ts. */
  signSignalingChallenge: (challenge: Uint8Array, room: string) => signalingProof(need().signer, need().grid, challenge, room),
  onPeerClosed: (cb: (id: NodeId, gen: number) => void) => need().onPeerClosed(cb),
  leave: () => need().leave(),
  marketView: () => need().marketView(),
  balances: () => need().balances(),
  history: (limit: number) => need().history(limit),
  // Benchmark hooks (npm run bench).
  appliedAt: (ids: string[]) => need().appliedAt(ids),
  loadTransfers: (count: number, to: NodeId) => need().loadTransfers(count, to),
  benchVerify: (n: number) => need().benchVerify(n),
  benchImportChain: (part: ChainBundle, last: boolean) => need().benchImportChain(part, last),
  statements: (limit: number) => need().statements(limit),
  meterStatus: () => need().meterStatus(),
  useSimulatedMeter: (profile?: MeterProfile, speed?: number, sim_start_hour?: number) => need().useSimulatedMeter(profile, speed, sim_start_hour),
  serialReading: (regs: MeterRegisters) => need().serialReading(regs),
  meterError: (code: string) => need().meterError(code),
  stopMeter: () => need().stopMeter(),
  setSchedule: (s: PriceSchedule) => need().setSchedule(s),
  requestDeposit: (amount: number, ref: string) => need().requestDeposit(amount, ref),
  confirmDeposit: (index: number) => need().confirmDeposit(index),
  transferLeadership: (target?: NodeId) => need().transferLeadership(target),
  setSyncVerification: (mode: SyncVerification) => need().setSyncVerification(mode),
  // Test-only fault injection (tests/e2e, drills): raw frames, forged and replayed txs.
  injectRaw: (peer: NodeId, bytes: Uint8Array) => need().injectRaw(peer, bytes),
  signOnly: (fields: SubmitFields, seq?: number) => need().signOnly(fields, seq),
  sendTxTo: (peer: NodeId, bytes: Uint8Array) => need().sendTxTo(peer, bytes),
  txBytes: (height: number, index: number) => need().txBytes(height, index),
  setFaults: (faults: { cut?: NodeId[]; delay_ms?: number }) => need().setFaults(faults),
  txOccurrences: (ids: string[]) => need().txOccurrences(ids),
};

export type NodeApi = typeof api;

Comlink.expose(api);
