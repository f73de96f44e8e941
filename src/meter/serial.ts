// The Web Serial meter (page side: the Web Serial API lives on the page): opens the P1 port
// chosen by the user, reads the character stream, cuts it into telegrams, checks each CRC
// and hands every good reading to the node. Partial telegrams, garbage, bad CRCs and an
// unplugged cable are counted and shown; they never produce a reading.
import { DsmrError, parseTelegram, TelegramSplitter, type DsmrReading } from './dsmr.js';

export type SerialProfile = 'dsmr45' | 'dsmr22';

/** DSMR 4/5 and e-MUCS: 115200 8N1; DSMR 2.2/3: 9600 7E1. */
export const SERIAL_OPTIONS: Record<SerialProfile, SerialOptions> = {
  dsmr45: { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 },
  dsmr22: { baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 1 },
};

export interface SerialMeterEvents {
  onReading(reading: DsmrReading): void;
  onError(code: string, detail: string): void;
  onState(state: 'open' | 'closed', detail: string): void;
}

interface SerialLike {
  requestPort(): Promise<SerialPort>;
}

export class SerialMeter {
  #port: SerialPort | null = null;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  readonly splitter = new TelegramSplitter();
  #closed = false;

  constructor(private readonly events: SerialMeterEvents) {}

  static available(): boolean {
    return typeof navigator !== 'undefined' && 'serial' in navigator;
  }

  async connect(profile: SerialProfile): Promise<void> {
    const serial = (navigator as unknown as { serial?: SerialLike }).serial;
    if (!serial) throw new Error('this browser has no Web Serial (use Chromium or Edge)');
    const port = await serial.requestPort();
    await port.open(SERIAL_OPTIONS[profile]);
    this.#port = port;
    this.events.onState('open', `port open at ${SERIAL_OPTIONS[profile].baudRate} baud`);
    void this.#readLoop(port);
  }

  async #readLoop(port: SerialPort): Promise<void> {
    // 7-bit ASCII on the wire: latin1 keeps every byte one character (no UTF-8 surprises).
    const decoder = new TextDecoder('latin1');
    while (!this.#closed && port.readable) {
      const reader = port.readable.getReader();
      this.#reader = reader;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const telegram of this.splitter.push(decoder.decode(value, { stream: true }))) this.#telegram(telegram);
        }
      } catch (err) {
        // A framing or parity error, or the cable pulled out: report and, if the port is still there, go on.
        this.events.onError('read_error', (err as Error).message);
      } finally {
        reader.releaseLock();
      }
      if (!port.readable) break;
    }
    this.events.onState('closed', this.#closed ? 'closed' : 'the meter was unplugged');
  }

  #telegram(text: string): void {
    try {
      this.events.onReading(parseTelegram(text));
    } catch (err) {
      if (err instanceof DsmrError) this.events.onError(err.code, err.message);
      else this.events.onError('parse_error', String(err));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#reader?.cancel().catch(() => {});
    await this.#port?.close().catch(() => {});
  }
}
