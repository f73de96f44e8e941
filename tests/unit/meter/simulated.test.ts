import { describe, expect, it } from 'vitest';
import { SimulatedMeter } from '../../../src/meter/simulated.js';

const H = 3_600_000;
const DAY0 = Date.UTC(2026, 5, 1); // midnight UTC

function dayOf(profile: 'consumer' | 'producer' | 'prosumer', extra: Partial<ConstructorParameters<typeof SimulatedMeter>[0]> = {}) {
  const m = new SimulatedMeter({ seed: 7, profile, speed: 1, start_ms: DAY0, ...extra });
  const hours: { imp: number; exp: number }[] = [];
  let last = m.read(DAY0);
  for (let h = 1; h <= 24; h++) {
    const r = m.read(DAY0 + h * H);
    hours.push({ imp: r.import_wh - last.import_wh, exp: r.export_wh - last.export_wh });
    last = r;
  }
  return hours;
}

describe('simulated meter', () => {
  it('is deterministic for a seed, and its registers only grow', () => {
    expect(dayOf('prosumer')).toEqual(dayOf('prosumer'));
    expect(dayOf('prosumer').every((h) => h.imp >= 0 && h.exp >= 0)).toBe(true);
  });

  it('a household uses more in the evening peak than at night', () => {
    const d = dayOf('consumer');
    expect(d[19]!.imp).toBeGreaterThan(2 * d[3]!.imp);
    expect(d[7]!.imp).toBeGreaterThan(d[3]!.imp);
    expect(d.every((h) => h.exp === 0)).toBe(true);
  });

  it('a producer exports around noon and nothing at night', () => {
    const d = dayOf('producer');
    expect(d[12]!.exp).toBeGreaterThan(1000);
    expect(d[1]!.exp).toBe(0);
  });

  it('a battery shifts midday surplus to the evening', () => {
    const plain = dayOf('prosumer');
    const battery = dayOf('prosumer', { battery_wh: 10_000 });
    const sum = (d: { imp: number; exp: number }[], k: 'imp' | 'exp') => d.reduce((n, h) => n + h[k], 0);
    expect(sum(battery, 'exp')).toBeLessThan(sum(plain, 'exp'));
    expect(sum(battery, 'imp')).toBeLessThan(sum(plain, 'imp'));
  });

  it('speed runs simulated time faster than the wall clock; a stopped meter freezes', () => {
    const m = new SimulatedMeter({ seed: 1, profile: 'consumer', speed: 60, start_ms: 0, sim_start_ms: DAY0 });
    expect(m.read(60_000).sim_time_ms).toBe(DAY0 + H);
    m.stopped = true;
    const a = m.read(120_000);
    expect(m.read(600_000).import_wh).toBe(a.import_wh);
  });
});
