// DSMR P1 telegrams (Dutch DSMR 2.2–5.0, Belgian e-MUCS): splitting a serial byte stream into
// telegrams, checking the CRC, and reading the electricity registers as integers.
//
// A telegram (DSMR 5.0.2 P1 companion standard §6.2):
//   /XXX5Identification CR LF CR LF
//   OBIS-code(value*unit) CR LF  …
//   !CRC CR LF
// The CRC is CRC-16/ARC (polynomial 0x8005 reflected, initial value 0, no final xor) over
// every byte from '/' through '!', written as four hexadecimal digits. DSMR 2.2 and 3.0
// telegrams end with a bare '!' and carry no CRC.
// Pure: no I/O, no clock. Energy in Wh, power in W, all integers.

export class DsmrError extends Error {
  override name = 'DsmrError';
  constructor(
    readonly code: 'crc_mismatch' | 'missing_field' | 'malformed_line' | 'not_a_telegram' | 'too_large',
    message: string,
  ) {
    super(message);
  }
}

export interface DsmrReading {
  meterType: string; // the identification line without '/'
  version: string | null; // 1-3:0.2.8 (DSMR 4+), 0-0:96.1.4 (e-MUCS)
  timestamp: number | null; // ms since the epoch (UTC), from 0-0:1.0.0
  importT1Wh: number;
  importT2Wh: number;
  exportT1Wh: number;
  exportT2Wh: number;
  powerImportW: number;
  powerExportW: number;
  tariff: number | null; // 0-0:96.14.0
  crc: 'ok' | 'absent';
}

export const DSMR_LIMITS = {
  /** A telegram longer than this is garbage (real ones are 0.5–3 KiB). */
  telegram_max_chars: 8192,
  line_max_chars: 1024,
} as const;

/** CRC-16/ARC. Check value: crc16arc("123456789") = 0xBB3D. */
export function crc16arc(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);

/** "123456.789" in kWh → 123456789 Wh, exactly (no floating point). */
function decimalTimes(value: string, scale_digits: number, what: string): number {
  const m = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(value);
  if (!m) throw new DsmrError('malformed_line', `${what}: "${value}" is not a decimal number`);
  const frac = (m[2] ?? '').padEnd(scale_digits, '0');
  if (frac.length > scale_digits && /[1-9]/.test(frac.slice(scale_digits))) {
    throw new DsmrError('malformed_line', `${what}: more precision than ${scale_digits} digits`);
  }
  const n = Number(m[1]!) * 10 ** scale_digits + Number(frac.slice(0, scale_digits) || '0');
  if (!Number.isSafeInteger(n)) throw new DsmrError('malformed_line', `${what}: out of range`);
  return n;
}

/** An energy register in Wh, from "…*kWh" or "…*Wh". */
function energyWh(value: string, what: string): number {
  const m = /^([\d.]+)\*(kWh|Wh)$/.exec(value);
  if (!m) throw new DsmrError('malformed_line', `${what}: expected a value in kWh or Wh, got "${value}"`);
  return m[2] === 'kWh' ? decimalTimes(m[1]!, 3, what) : decimalTimes(m[1]!, 0, what);
}

function powerW(value: string, what: string): number {
  const m = /^([\d.]+)\*(kW|W)$/.exec(value);
  if (!m) throw new DsmrError('malformed_line', `${what}: expected a value in kW or W, got "${value}"`);
  return m[2] === 'kW' ? decimalTimes(m[1]!, 3, what) : decimalTimes(m[1]!, 0, what);
}

/** YYMMDDhhmmssX, X = S (summer time, UTC+2) or W (winter time, UTC+1): Dutch and Belgian local time. */
function timestampMs(value: string): number {
  const m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)([SW])$/.exec(value);
  if (!m) throw new DsmrError('malformed_line', `timestamp: "${value}" is not YYMMDDhhmmssX`);
  const [, yy, mo, dd, hh, mi, ss, dst] = m;
  const offset_h = dst === 'S' ? 2 : 1;
  const ms = Date.UTC(2000 + Number(yy), Number(mo) - 1, Number(dd), Number(hh) - offset_h, Number(mi), Number(ss));
  if (Number(mo) < 1 || Number(mo) > 12 || Number(dd) < 1 || Number(dd) > 31 || Number(hh) > 23) {
    throw new DsmrError('malformed_line', `timestamp: "${value}" is not a date`);
  }
  return ms;
}

const LINE = /^(\d+-\d+:\d+\.\d+\.\d+)((?:\([^()]*\))+)$/;

/** Parses one whole telegram (from '/' to '!' and its CRC, if any). Throws DsmrError. */
export function parseTelegram(text: string): DsmrReading {
  if (text.length > DSMR_LIMITS.telegram_max_chars) throw new DsmrError('too_large', `telegram of ${text.length} characters`);
  const start = text.indexOf('/');
  const bang = text.lastIndexOf('!');
  if (start < 0 || bang < start) throw new DsmrError('not_a_telegram', 'no "/" … "!" frame');
  const after = text.slice(bang + 1).trim();
  let crc: DsmrReading['crc'] = 'absent';
  if (after.length > 0) {
    if (!/^[0-9A-Fa-f]{4}$/.test(after)) throw new DsmrError('malformed_line', `CRC "${after.slice(0, 8)}" is not four hex digits`);
    const want = parseInt(after, 16);
    const got = crc16arc(ascii(text.slice(start, bang + 1)));
    if (got !== want) throw new DsmrError('crc_mismatch', `CRC ${after.toUpperCase()} does not match the telegram (${got.toString(16).toUpperCase().padStart(4, '0')})`);
    crc = 'ok';
  }
  const lines = text.slice(start, bang).split(/\r?\n/);
  const meterType = lines[0]!.slice(1).trim();
  if (!/^[A-Za-z0-9]{3}\d/.test(meterType)) throw new DsmrError('not_a_telegram', `identification "${meterType.slice(0, 20)}" is not XXXn…`);
  const fields = new Map<string, string[]>();
  let last: string | null = null;
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.length > DSMR_LIMITS.line_max_chars) throw new DsmrError('malformed_line', 'line too long');
    if (line.startsWith('(') && last) {
      // DSMR 2.2/3 put the gas reading on a continuation line: keep it with its field.
      fields.get(last)!.push(...[...line.matchAll(/\(([^()]*)\)/g)].map((m) => m[1]!));
      continue;
    }
    const m = LINE.exec(line);
    if (!m) throw new DsmrError('malformed_line', `cannot read line "${line.slice(0, 40)}"`);
    last = m[1]!;
    fields.set(m[1]!, [...m[2]!.matchAll(/\(([^()]*)\)/g)].map((x) => x[1]!));
  }
  const one = (code: string, what: string): string => {
    const v = fields.get(code);
    if (!v || v.length === 0) throw new DsmrError('missing_field', `${what} (${code}) is missing`);
    return v[v.length - 1]!;
  };
  const optional = (code: string): string | null => fields.get(code)?.at(-1) ?? null;
  const tariffRaw = optional('0-0:96.14.0');
  const time = optional('0-0:1.0.0');
  return {
    meterType,
    version: optional('1-3:0.2.8') ?? optional('0-0:96.1.4'),
    timestamp: time ? timestampMs(time) : null,
    importT1Wh: energyWh(one('1-0:1.8.1', 'imported energy, tariff 1'), '1-0:1.8.1'),
    importT2Wh: energyWh(one('1-0:1.8.2', 'imported energy, tariff 2'), '1-0:1.8.2'),
    exportT1Wh: energyWh(one('1-0:2.8.1', 'exported energy, tariff 1'), '1-0:2.8.1'),
    exportT2Wh: energyWh(one('1-0:2.8.2', 'exported energy, tariff 2'), '1-0:2.8.2'),
    powerImportW: powerW(one('1-0:1.7.0', 'power imported'), '1-0:1.7.0'),
    powerExportW: powerW(one('1-0:2.7.0', 'power exported'), '1-0:2.7.0'),
    tariff: tariffRaw !== null && /^\d{1,4}$/.test(tariffRaw) ? Number(tariffRaw) : null,
    crc,
  };
}

/** Appends the CRC a real meter would send (for simulated meters and test fixtures). */
export function withCrc(body: string): string {
  const bang = body.lastIndexOf('!');
  const framed = body.slice(0, bang + 1);
  return `${framed}${crc16arc(ascii(framed.slice(framed.indexOf('/')))).toString(16).toUpperCase().padStart(4, '0')}\r\n`;
}

export interface SplitterStats {
  telegrams: number;
  garbage_chars: number;
  oversized: number;
}

/**
 * Cuts a P1 character stream into telegrams: from '/' to '!' plus the CRC line. Bytes
 * outside a telegram are counted as garbage; a telegram that never ends is dropped once it
 * exceeds the size limit. Never throws.
 */
export class TelegramSplitter {
  #buf = '';
  readonly stats: SplitterStats = { telegrams: 0, garbage_chars: 0, oversized: 0 };

  push(chunk: string): string[] {
    this.#buf += chunk;
    const out: string[] = [];
    for (;;) {
      const start = this.#buf.indexOf('/');
      if (start < 0) {
        this.stats.garbage_chars += this.#buf.length;
        this.#buf = '';
        break;
      }
      if (start > 0) {
        this.stats.garbage_chars += start;
        this.#buf = this.#buf.slice(start);
      }
      const bang = this.#buf.indexOf('!');
      if (bang < 0) {
        if (this.#buf.length > DSMR_LIMITS.telegram_max_chars) this.#dropOversized();
        break;
      }
      // The CRC line ends at the next line break (a bare '!' ends with one at once).
      const eol = this.#buf.indexOf('\n', bang);
      if (eol < 0) {
        if (this.#buf.length > DSMR_LIMITS.telegram_max_chars) this.#dropOversized();
        break;
      }
      const telegram = this.#buf.slice(0, eol + 1);
      this.#buf = this.#buf.slice(eol + 1);
      // A new '/' inside means the earlier telegram was cut off: restart from the last one.
      const restart = telegram.lastIndexOf('/', bang);
      if (restart > 0) this.stats.garbage_chars += restart;
      out.push(telegram.slice(Math.max(0, restart)));
      this.stats.telegrams++;
    }
    return out;
  }

  #dropOversized(): void {
    this.stats.oversized++;
    this.stats.garbage_chars += this.#buf.length;
    this.#buf = '';
  }
}
