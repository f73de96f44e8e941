// Evidence files as streams (browser or Node): writing a household's evidence from a chain, and
// checking one from its bytes with a readable summary. The rules are core/evidence.ts's.
import { EvidenceChecker, EVIDENCE_LIMITS, evidenceItems, type ChainAccess, type EvidenceSummary } from '../core/evidence.js';
import type { NodeId, Verifier } from '../core/keys.js';
import { memberLabel, statementCsv } from '../market/statement-csv.js';
import { batched, chunksOf, type ByteSource } from './stream.js';

/** A household's evidence file as byte chunks (the node's "Download my evidence"). */
export function writeEvidence(access: ChainAccess, household: NodeId, verifier: Verifier): AsyncGenerator<Uint8Array> {
  return batched(evidenceItems(access, household, verifier));
}

export interface EvidenceReport extends Omit<EvidenceSummary, 'statements'> {
  statements: number;
  unproven: Record<string, number>;
  cannot_prove: readonly string[];
  csv: string[];
  lines: string[];
}

export async function checkEvidenceFile(source: ByteSource, verifier: Verifier): Promise<EvidenceReport> {
  const checker = new EvidenceChecker(verifier);
  for await (const chunk of chunksOf(source)) checker.push(chunk);
  const s = checker.finish();
  const unproven: Record<string, number> = {};
  for (const st of s.statements) for (const u of st.unproven) unproven[u] = (unproven[u] ?? 0) + 1;
  const t = s.totals;
  const lines = [
    `evidence checked: household ${s.household} on chain ${s.chain}`,
    `  anchor        block ${s.anchor.height} (${new Date(s.anchor.time_ms).toISOString()}), hash ${s.anchor.hash}`,
    `                certified by ${s.anchor.acks} of the ${s.anchor.voters} voters the file names`,
    `  headers       ${s.headers}, each proven to be in the anchor's history tree`,
    `  statements    ${s.statements.length}, each recomputed from its proven transactions; ${s.fully_proven} rest on nothing unproven`,
    ...Object.entries(unproven).map(([k, v]) => `      ${String(v).padStart(6)} × ${k} (not provable from evidence)`),
    `  as consumer   consumed ${t.consumed_wh} Wh, bought ${t.bought_wh} Wh for ${t.paid}, from the grid ${t.grid_wh} Wh`,
    `  as producer   sold ${t.sold_wh} Wh, earned ${t.earned}`,
    `  not provable without the full chain:`,
    ...EVIDENCE_LIMITS.map((l) => `    - ${l}`),
  ];
  const { statements, ...rest } = s;
  return {
    ...rest,
    statements: statements.length,
    unproven,
    cannot_prove: EVIDENCE_LIMITS,
    // Evidence carries no names: members show as the app shows members without one.
    csv: statementCsv(
      statements.map((x) => ({ ...x.statement, height: x.height })),
      { interval_ms: s.params.interval_ms, token_decimals: s.params.token_decimals, token_symbol: s.params.token_symbol, nameOf: (id) => memberLabel(id, null, s.operator) },
    ).trimEnd().split('\n'),
    lines,
  };
}
