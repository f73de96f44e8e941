// Small formatting helpers shared by the views.
export function short(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '—';
}

/** Token minor units as a decimal string (2 decimals by default). */
export function tokens(minor: number, decimals = 2): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  const unit = 10 ** decimals;
  return `${sign}${Math.floor(abs / unit)}.${String(abs % unit).padStart(decimals, '0')}`;
}

export function time(ms: number): string {
  return ms ? new Date(ms).toLocaleTimeString() : '—';
}
