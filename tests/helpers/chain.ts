// A small chain builder for tests: noble signers from seeds, sequence numbers tracked per
// signer, blocks proposed by the operator and applied with the real ledger.
import { NobleSigner, nobleVerifier, type Verifier } from '../../src/core/keys.js';
import { DEFAULT_PARAMS, type GridParams } from '../../src/core/params.js';
import { createGenesis, type SignedGenesis } from '../../src/core/genesis.js';
import { apply, assertInvariants, genesisState, type ApplyResult, type LedgerState } from '../../src/core/ledger.js';
import { buildBlockSync, type Block } from '../../src/core/block.js';
import { nextHistory } from '../../src/core/history.js';
import { isContractStatement, isEnergyStatement, type ContractStatement, type EnergyStatement, type Statement } from '../../src/core/settlement.js';
import { signTxSync, type DecodedTx, type InviteV2, type Role, type TxBody, type TxKind, type TxOf } from '../../src/core/tx.js';
import { createInviteLinkSync, decodeInviteLink, redeemInvite } from '../../src/core/invite.js';
import { endorsedInviteKey, grantEndorsedInvite, redeemEndorsedInvite } from '../../src/core/endorsed-invite.js';
import type { EndorsedInvite } from '../../src/core/tx.js';

export type Fields<K extends TxKind> = Omit<TxOf<K>, 'v' | 'chain' | 'kind' | 'from' | 'seq'>;

export class TestChain {
  readonly operator = NobleSigner.fromSeed('operator');
  readonly signers = new Map<string, NobleSigner>();
  readonly seqs = new Map<string, number>();
  genesis!: SignedGenesis;
  state!: LedgerState;
  blocks: Block[] = [];
  results: ApplyResult[] = [];
  verifier: Verifier = nobleVerifier;

  static async create(
    founders: Record<string, Role> = {},
    params: Partial<GridParams> = {},
    time_ms = 0,
    /** The params before `params` are laid over them: RULE1_PARAMS for a chain made before rule 2. */
    base: GridParams = DEFAULT_PARAMS,
  ): Promise<TestChain> {
    const chain = new TestChain();
    const members = Object.entries(founders).map(([name, role]) => ({ pub: chain.signer(name).publicKey, role }));
    chain.genesis = await createGenesis(chain.operator, {
      name: 'test grid',
      time_ms,
      // An undefined value drops the parameter (a grid made before it existed).
      params: Object.fromEntries(Object.entries({ ...base, ...params }).filter(([, v]) => v !== undefined)) as unknown as GridParams,
      members,
    });
    chain.state = genesisState(chain.genesis, nobleVerifier);
    return chain;
  }

  /**
   * A v2 invite for `role`, redeemed for `joiner`'s key: the admit's `invite` field. `fill`
   * seeds the one-time key (one invite per fill); `granter` signs the grant (the operator).
   */
  invite(joiner: string, role: Role, expires_ms: number, fill = 1, granter: NobleSigner = this.operator): InviteV2 {
    const link = decodeInviteLink(createInviteLinkSync(this.state.chain_id, new Uint8Array(48).fill(fill), role, expires_ms, (m) => granter.signSync(m)));
    return redeemInvite(this.state.chain_id, link, this.signer(joiner).publicKey);
  }

  /**
   * An invite granted by the members `granters` (M-of-N admission), redeemed for `joiner`'s
   * key: the admit's `invite` field. `fill` seeds the one-time key (one invite per fill).
   */
  endorsedInvite(joiner: string, role: Role, expires_ms: number, granters: string[], fill = 1): EndorsedInvite {
    const { key, pub } = endorsedInviteKey(new Uint8Array(48).fill(fill));
    const grants = granters.map((g) => grantEndorsedInvite(this.state.chain_id, this.id(g), pub, role, expires_ms, (m) => this.signer(g).signSync(m)));
    return redeemEndorsedInvite(this.state.chain_id, key, role, expires_ms, grants, this.signer(joiner).publicKey);
  }

  signer(name: string): NobleSigner {
    if (name === 'operator') return this.operator;
    let s = this.signers.get(name);
    if (!s) this.signers.set(name, (s = NobleSigner.fromSeed(`member:${name}`)));
    return s;
  }

  id(name: string): string {
    return this.signer(name).id;
  }

  /** A signed tx from `name` with its next sequence number (or an explicit one). */
  tx<K extends TxKind>(name: string, kind: K, fields: Fields<K>, seq?: number): DecodedTx {
    const signer = this.signer(name);
    const next = seq ?? this.seqs.get(name) ?? 0;
    if (seq === undefined) this.seqs.set(name, next + 1);
    const body = { v: 1, chain: this.state.chain_id, kind, from: signer.id, seq: next, ...fields } as unknown as TxBody;
    return signTxSync(body, signer);
  }

  /** Proposes a block at `time_ms` holding `txs` and applies it (proposed by the operator, or by `proposer`). */
  block(txs: DecodedTx[], time_ms: number, term = 1, proposer?: string): ApplyResult {
    const block = buildBlockSync(
      { chain: this.state.chain_id, height: this.state.height + 1, term, prev: this.state.last_hash, ...historyField(this.state), time_ms },
      txs.map((t) => t.bytes),
      proposer ? this.signer(proposer) : this.operator,
    );
    const result = apply(this.state, block, this.verifier);
    assertInvariants(result.state);
    this.state = result.state;
    this.blocks.push(block);
    this.results.push(result);
    return result;
  }

  balance(name: string): number {
    return this.state.members.get(this.id(name))?.balance ?? 0;
  }
}

/** The `history` field the next block's header carries (none on a chain of v1 headers). */
export function historyField(state: LedgerState): { history?: Uint8Array } {
  const history = nextHistory(state.params, state.history);
  return history ? { history } : {};
}

/** The contracts' statements among what a block settled (settlement rule 3 adds households' energy statements). */
export function contractsOf(statements: readonly Statement[]): ContractStatement[] {
  return statements.filter(isContractStatement);
}

/** The households' energy statements among what a block settled (rule 3). */
export function energyOf(statements: readonly Statement[]): EnergyStatement[] {
  return statements.filter(isEnergyStatement);
}
