/** Display helpers: numbers, money, durations and times, the way people read them. */

export const num = (n: number | null | undefined): string => {
  if (n === null || n === undefined) return '–';
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Math.round(n).toLocaleString();
};

/** Dollars with two significant digits below $1 ($0.16, $0.0063), cents above. */
export const usd = (n: number | null | undefined): string => {
  if (n === null || n === undefined) return '–';
  if (n === 0) return '$0';
  if (n >= 1) return `$${n.toFixed(2)}`;
  const decimals = Math.min(6, Math.max(2, 1 - Math.floor(Math.log10(n))));
  return `$${n.toFixed(decimals)}`;
};

export const ms = (n: number | null | undefined): string => {
  if (n === null || n === undefined) return '–';
  if (n >= 10_000) return `${(n / 1000).toFixed(1)} s`;
  if (n >= 1000) return `${(n / 1000).toFixed(2)} s`;
  return `${Math.round(n)} ms`;
};

export const pct = (n: number | null | undefined): string =>
  n === null || n === undefined ? '–' : `${(n * 100).toFixed(1).replace(/\.0$/, '')}%`;

export const time = (epochMs: number): string =>
  new Date(epochMs).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const dateTime = (epochMs: number): string => new Date(epochMs).toLocaleString();

export const bytes = (n: number | null | undefined): string => {
  if (n === null || n === undefined) return '–';
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KB`;
  return `${n} B`;
};

/** A short model name for narrow places: `claude-sonnet-5-5-20261021` → `sonnet-5-5`. */
export const shortModel = (m: string): string => m.replace(/^claude-/, '').replace(/-\d{8}$/, '');
