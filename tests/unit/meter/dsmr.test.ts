import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc16arc, DsmrError, parseTelegram, TelegramSplitter } from '../../../src/meter/dsmr.js';
import { DSMR22, DSMR42, DSMR5, EMUCS, WH_METER } from './fixtures.js';

const ascii = (t: string) => Uint8Array.from(t, (c) => c.charCodeAt(0));

describe('DSMR P1 telegrams', () => {
  it('CRC-16/ARC matches the standard check value', () => {
    expect(crc16arc(ascii('123456789'))).toBe(0xbb3d);
    expect(crc16arc(new Uint8Array())).toBe(0);
  });

  it('reads DSMR 5.0, 4.2, e-MUCS, 2.2 and Wh meters into integer registers', () => {
    expect(parseTelegram(DSMR5)).toEqual({
      meterType: 'ISK5\\2M550T-1012', version: '50', timestamp: Date.UTC(2023, 10, 24, 9, 15, 30),
      importT1Wh: 1_581_123, importT2Wh: 1_411_456, exportT1Wh: 201_789, exportT2Wh: 482_011,
      powerImportW: 474, powerExportW: 0, tariff: 2, crc: 'ok',
    });
    const k = parseTelegram(DSMR42);
    expect(k).toMatchObject({ version: '42', timestamp: Date.UTC(2023, 6, 15, 12, 30, 12), importT1Wh: 12_345_678, importT2Wh: 9_876_543, powerImportW: 1250, tariff: 1, crc: 'ok' });
    const b = parseTelegram(EMUCS);
    expect(b).toMatchObject({ version: '50217', exportT1Wh: 345_678, exportT2Wh: 12_345, powerImportW: 0, powerExportW: 1862, tariff: 1, crc: 'ok' });
    const old = parseTelegram(DSMR22);
    expect(old).toMatchObject({ version: null, timestamp: null, importT1Wh: 30_652_450, exportT2Wh: 939_132, powerImportW: 1590, powerExportW: 110, crc: 'absent' });
    expect(parseTelegram(WH_METER)).toMatchObject({ importT1Wh: 1_581_123, exportT2Wh: 482_011, powerImportW: 474 });
  });

  it('names the problem: CRC mismatch, missing field, malformed line', () => {
    const flipped = DSMR5.replace('001581.123', '001581.124');
    expect(() => parseTelegram(flipped)).toThrow(expect.objectContaining({ code: 'crc_mismatch' }));
    const missing = DSMR22.replace('1-0:2.8.2(00939.132*kWh)\r\n', '');
    expect(() => parseTelegram(missing)).toThrow(expect.objectContaining({ code: 'missing_field', message: expect.stringContaining('1-0:2.8.2') }));
    const broken = DSMR22.replace('1-0:1.7.0(0001.59*kW)', '1-0:1.7.0(0001.59*kW');
    expect(() => parseTelegram(broken)).toThrow(expect.objectContaining({ code: 'malformed_line' }));
    const badUnit = DSMR22.replace('1-0:1.8.1(30652.450*kWh)', '1-0:1.8.1(30652.450*MWh)');
    expect(() => parseTelegram(badUnit)).toThrow(DsmrError);
    expect(() => parseTelegram('hello')).toThrow(expect.objectContaining({ code: 'not_a_telegram' }));
  });

  it('splits a stream fed in random chunks, with garbage between telegrams, into exactly the telegrams', () => {
    const stream = `\x00\xffnoise${DSMR5}garbage\r\n${DSMR42}${EMUCS}~~${DSMR22}${WH_METER}`;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 60 }), (sizes) => {
        const s = new TelegramSplitter();
        const got: string[] = [];
        let at = 0;
        let i = 0;
        while (at < stream.length) {
          const n = sizes[i++ % sizes.length]!;
          got.push(...s.push(stream.slice(at, at + n)));
          at += n;
        }
        expect(got.map(parseTelegram).map((r) => r.importT1Wh)).toEqual([1_581_123, 12_345_678, 123_456, 30_652_450, 1_581_123]);
        expect(s.stats.garbage_chars).toBe('\x00\xffnoise'.length + 'garbage\r\n'.length + 2);
      }),
      { numRuns: 200 },
    );
  });

  it('a partial telegram (unplugged mid-way) never yields a reading; an endless one is dropped', () => {
    const s = new TelegramSplitter();
    const cut = DSMR5.slice(0, 200);
    expect(s.push(cut)).toEqual([]);
    // The next telegram starts: the cut one is garbage, the new one reads.
    const out = s.push(DSMR42);
    expect(out).toHaveLength(1);
    expect(parseTelegram(out[0]!).version).toBe('42');
    const endless = new TelegramSplitter();
    endless.push('/XXX5 forever\r\n' + '1-0:1.8.1(1*kWh)\r\n'.repeat(1000));
    expect(endless.stats.oversized).toBe(1);
  });

  it('never throws anything but DsmrError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (t) => {
        try {
          parseTelegram('/' + t + '!');
        } catch (err) {
          expect(err).toBeInstanceOf(DsmrError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
