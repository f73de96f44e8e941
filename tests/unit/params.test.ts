// Grid parameters: the defaults of a new grid follow its interval; geneses made before the
// optional fields existed still decode, verify and hash to the same chain id, and replay
// with the old rules (settlement rule 1, start horizon = retain_intervals).
import { describe, expect, it } from 'vitest';
import { checkParams, contractStartMaxIntervals, DEFAULT_MAX_VOTERS, DEFAULT_PARAMS, DEFAULT_VOTER_ABSENT_MS, gridParams, RULE1_PARAMS, settlementRuleOf, type GridParams } from '../../src/core/params.js';
import { chainIdOf, checkGenesis, decodeGenesis, encodeGenesis, GenesisError } from '../../src/core/genesis.js';
import { genesisState } from '../../src/core/ledger.js';
import { nobleVerifier } from '../../src/core/keys.js';
import { toHex } from '../../src/core/bytes.js';
import { autopilotConfig } from '../../src/core/autopilot.js';

// A genesis made by the code before settlement rule 2 (commit c2dba3d): { ...DEFAULT_PARAMS,
// interval_ms: 15_000 } of that time, one founding producer, signed by the seeded operator.
const OLD_GENESIS_B64 =
  'omNzaWdYQFdbXPClfeAGGBPIf2GvjIzg1FNob4VnbT72VVHoIU1IQN0axzyn1Ue0IGtA85mDX5oJaWumXLYCGwn9CtI3iExnZ2VuZXNpc6ZhdgFkbmFtZWhvbGQgZ3JpZGZwYXJhbXOqa2ludGVydmFsX21zGTqYbHRva2VuX3N5bWJvbGJHVG1ibG9ja19tYXhfdHhzGQH0bWNvbW1pdF9xdW9ydW1obWFqb3JpdHludG9rZW5fZGVjaW1hbHMCb2Jsb2NrX21heF9ieXRlcxoACAAAcHJldGFpbl9pbnRlcnZhbHMZBaBxYmxvY2tfbWF4X3dhaXRfbXMUdHNldHRsZV9sYWdfaW50ZXJ2YWxzAnZjb250cmFjdF9tYXhfaW50ZXJ2YWxzGSdgZ21lbWJlcnOBomNwdWJYIQI6M1WqVNw8hfZmqFIQTIhpYuZ2o5SvcKzau6B3UK+ZVGRyb2xlaHByb2R1Y2VyZ3RpbWVfbXMbAAABi8/laABob3BlcmF0b3JYIQLDU/hQl8UZE8gJjzufbNtWbR3vtKs+db+XzojHB+RkKg==';
const OLD_CHAIN_ID = 'fa19898eb05b5289389e9aec1685377550896fc1f17f17d23305fc59952dc202';

describe('grid parameters', () => {
  it('new grids: contracts up to 31 days and starting within 7 days, counted at the grid interval', () => {
    expect(DEFAULT_PARAMS).toMatchObject({ interval_ms: 60_000, contract_max_intervals: 31 * 24 * 60, contract_start_max_intervals: 7 * 24 * 60, settlement_rule: 3, max_voters: 7, voter_absent_ms: 60_000 });
    expect(gridParams({ interval_ms: 15_000 })).toMatchObject({ contract_max_intervals: 31 * 24 * 240, contract_start_max_intervals: 7 * 24 * 240 });
    expect(gridParams({ interval_ms: 1000 })).toMatchObject({ contract_max_intervals: 31 * 86_400, contract_start_max_intervals: 7 * 86_400 });
    // An interval that does not divide a day: whole intervals within the duration.
    expect(gridParams({ interval_ms: 7000 }).contract_max_intervals).toBe(Math.floor((31 * 86_400_000) / 7000));
    expect(gridParams({ interval_ms: 15_000, contract_max_intervals: 10 }).contract_max_intervals).toBe(10);
    for (const ms of [1000, 7000, 15_000, 60_000, 3_600_000]) expect(checkParams(gridParams({ interval_ms: ms }))).toBeNull();
  });

  it('refuses bad or unknown fields, and accepts the optional ones absent', () => {
    const bad: [Partial<Record<keyof GridParams | 'surprise', unknown>>, RegExp][] = [
      [{ settlement_rule: 4 }, /settlement_rule/],
      [{ settlement_rule: null }, /settlement_rule/],
      [{ contract_start_max_intervals: -1 }, /contract_start_max_intervals/],
      [{ contract_start_max_intervals: 1.5 }, /contract_start_max_intervals/],
      [{ token_symbol: '' }, /token_symbol/],
      [{ token_symbol: 7 }, /token_symbol/],
      [{ surprise: 1 }, /surprise is not a parameter/],
      [{ constructor: 1 } as never, /constructor is not a parameter/],
    ];
    for (const [patch, re] of bad) expect(checkParams({ ...DEFAULT_PARAMS, ...patch } as GridParams)).toMatch(re);
    expect(checkParams(RULE1_PARAMS)).toBeNull();
    expect(settlementRuleOf(RULE1_PARAMS)).toBe(1);
    expect(contractStartMaxIntervals(RULE1_PARAMS)).toBe(RULE1_PARAMS.retain_intervals);
  });

  it('a genesis made before the new fields decodes, verifies and hashes as it did, and keeps the old rules', () => {
    const bytes = Uint8Array.from(Buffer.from(OLD_GENESIS_B64, 'base64'));
    const signed = decodeGenesis(bytes);
    expect(toHex(checkGenesis(signed, nobleVerifier))).toBe(OLD_CHAIN_ID);
    expect(toHex(chainIdOf(signed.genesis))).toBe(OLD_CHAIN_ID);
    expect(encodeGenesis(signed)).toEqual(bytes);
    const state = genesisState(signed, nobleVerifier);
    expect(Object.hasOwn(state.params, 'settlement_rule')).toBe(false);
    expect(settlementRuleOf(state.params)).toBe(1);
    expect(state.params.contract_max_intervals).toBe(7 * 24 * 60); // its old limit, as written
    expect(contractStartMaxIntervals(state.params)).toBe(24 * 60);
    // No autopilot parameters: its leaders use the defaults, and its ledger caps no promotion.
    expect(Object.hasOwn(state.params, 'max_voters') || Object.hasOwn(state.params, 'voter_absent_ms')).toBe(false);
    expect(autopilotConfig(state.params)).toMatchObject({ max_voters: DEFAULT_MAX_VOTERS, absent_ms: DEFAULT_VOTER_ABSENT_MS });
  });

  it('a genesis with a field this version does not know is refused', () => {
    const signed = decodeGenesis(Uint8Array.from(Buffer.from(OLD_GENESIS_B64, 'base64')));
    const altered = { ...signed, genesis: { ...signed.genesis, params: { ...signed.genesis.params, future_rule: 1 } as GridParams } };
    expect(() => checkGenesis(altered, nobleVerifier)).toThrow(GenesisError);
  });
});
