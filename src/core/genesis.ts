// The genesis block fixes the chain id (its hash, bound into every signature), the
// operator's key (grid operator and token handler), the grid parameters and the founders.
import { encodeCanonical, decodeCanonical, type CanonicalValue } from './codec.js';
import { concatBytes, utf8 } from './bytes.js';
import { taggedHash } from './hash.js';
import { checkParams, LIMITS, type GridParams } from './params.js';
import { isValidPublicKey, nodeIdOf, type NodeId, type Verifier } from './keys.js';
import { ROLES, type Role } from './tx.js';

export interface FoundingMember {
  pub: Uint8Array;
  role: Role;
}

export interface Genesis {
  v: 1;
  name: string;
  time_ms: number;
  params: GridParams;
  operator: Uint8Array; // the operator's compressed public key
  members: FoundingMember[]; // voters from the start, besides the operator
}

export interface SignedGenesis {
  genesis: Genesis;
  sig: Uint8Array; // operator's signature over genesisMessage(chain id)
}

export class GenesisError extends Error {
  override name = 'GenesisError';
}

export function chainIdOf(genesis: Genesis): Uint8Array {
  return taggedHash('genesis', encodeCanonical(genesis as unknown as CanonicalValue));
}

export function genesisMessage(chainId: Uint8Array): Uint8Array {
  return concatBytes(utf8('gridledger/genesis/v1'), chainId);
}

export function operatorIdOf(genesis: Genesis): NodeId {
  return nodeIdOf(genesis.operator);
}

export function checkGenesis(signed: SignedGenesis, verifier: Verifier): Uint8Array {
  const g = signed.genesis;
  if (g.v !== 1) throw new GenesisError('genesis.v must be 1');
  if (typeof g.name !== 'string' || g.name.length === 0 || g.name.length > LIMITS.text_max_chars) {
    throw new GenesisError('genesis.name must be 1..128 chars');
  }
  if (!Number.isSafeInteger(g.time_ms) || g.time_ms < 0) throw new GenesisError('genesis.time_ms must be a timestamp');
  const paramsProblem = checkParams(g.params);
  if (paramsProblem) throw new GenesisError(paramsProblem);
  if (!isValidPublicKey(g.operator)) throw new GenesisError('genesis.operator is not a P-256 public key');
  const ids = new Set([nodeIdOf(g.operator)]);
  for (const m of g.members) {
    if (!isValidPublicKey(m.pub)) throw new GenesisError('a founding member key is not a P-256 public key');
    if (!ROLES.includes(m.role)) throw new GenesisError(`founding member role ${m.role} is not a role`);
    const id = nodeIdOf(m.pub);
    if (ids.has(id)) throw new GenesisError(`founding member ${id} is listed twice`);
    ids.add(id);
  }
  if (ids.size > LIMITS.members_max) throw new GenesisError('too many founding members');
  const chainId = chainIdOf(g);
  if (!verifier.verify(g.operator, genesisMessage(chainId), signed.sig)) {
    throw new GenesisError('genesis signature does not verify against the operator key');
  }
  return chainId;
}

export function encodeGenesis(signed: SignedGenesis): Uint8Array {
  return encodeCanonical(signed as unknown as CanonicalValue);
}

export function decodeGenesis(bytes: Uint8Array): SignedGenesis {
  const v = decodeCanonical(bytes, 256 * 1024) as unknown as SignedGenesis;
  if (typeof v !== 'object' || v === null || !Object.hasOwn(v, 'genesis') || !(v.sig instanceof Uint8Array)) {
    throw new GenesisError('not a signed genesis');
  }
  return v;
}

export async function createGenesis(
  operator: { publicKey: Uint8Array; sign(m: Uint8Array): Promise<Uint8Array> },
  init: { name: string; time_ms: number; params: GridParams; members?: FoundingMember[] },
): Promise<SignedGenesis> {
  const genesis: Genesis = {
    v: 1,
    name: init.name,
    time_ms: init.time_ms,
    params: init.params,
    operator: operator.publicKey,
    members: init.members ?? [],
  };
  const sig = await operator.sign(genesisMessage(chainIdOf(genesis)));
  return { genesis, sig };
}
