// A fake navigator.serial for the browser: one port whose stream is a DSMR 5 meter sending
// a telegram every second, with registers that grow, split into uneven chunks, with noise
// between telegrams and now and then a telegram with a broken CRC.
export function installFakeSerial(import_wh_per_s: number): void {
  const crc16 = (text: string) => {
    let crc = 0;
    for (let i = 0; i < text.length; i++) {
      crc ^= text.charCodeAt(i);
      for (let b = 0; b < 8; b++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
    }
    return crc.toString(16).toUpperCase().padStart(4, '0');
  };
  const kwh = (wh: number) => `${String(Math.floor(wh / 1000)).padStart(6, '0')}.${String(wh % 1000).padStart(3, '0')}*kWh`;
  const started = Date.now();
  let n = 0;
  const telegram = () => {
    const s = (Date.now() - started) / 1000;
    const imp = 1_000_000 + Math.floor(s * import_wh_per_s);
    const body = ['/ISK5\\2M550T-1012', '', '1-3:0.2.8(50)', `1-0:1.8.1(${kwh(imp)})`, '1-0:1.8.2(000100.000*kWh)', '1-0:2.8.1(000000.000*kWh)', '1-0:2.8.2(000000.000*kWh)', '0-0:96.14.0(0001)', `1-0:1.7.0(${(import_wh_per_s * 3.6).toFixed(3).padStart(6, '0')}*kW)`, '1-0:2.7.0(00.000*kW)', '!'].join('\r\n');
    const crc = crc16(body);
    const broken = ++n % 7 === 0;
    return `${body}${broken ? (crc === '0000' ? '0001' : '0000') : crc}\r\n`;
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      const enc = new TextEncoder();
      timer = setInterval(() => {
        const text = `noise\r\n${telegram()}`;
        for (let i = 0; i < text.length; i += 37) controller.enqueue(enc.encode(text.slice(i, i + 37)));
      }, 1000);
    },
    cancel() {
      clearInterval(timer);
    },
  });
  const port = { readable, writable: null, open: async () => {}, close: async () => clearInterval(timer), getInfo: () => ({}) };
  Object.defineProperty(navigator, 'serial', { configurable: true, value: { requestPort: async () => port, getPorts: async () => [port] } });
}
