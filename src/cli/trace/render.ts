/**
 * `ccproxy trace show`: a captured request, readable in a terminal — the access-log row in one line,
 * then each part with its headers and body (JSON pretty-printed, a stream as its events with their
 * times), and what ccproxy changed on the way up. Colour only when asked (a terminal without
 * NO_COLOR). Pure: a string in, a string out.
 */
import { styleText } from 'node:util';
import { bodyJson, requestChanges } from '../../observability/capture/changes.ts';
import { describeChange } from '../../observability/capture/diff.ts';
import type { Capture, CapturedPart, RequestDetail } from '../../observability/capture/types.ts';

type Style = Parameters<typeof styleText>[0];

export interface RenderOptions {
  color: boolean;
}

export function renderDetail(d: RequestDetail, opts: RenderOptions): string {
  const paint = (style: Style, s: string) => (opts.color ? styleText(style, s) : s);
  const out: string[] = [];
  const r = d.row;
  const c = d.capture;
  const id = r?.id ?? c?.id ?? '?';
  const when = new Date(r?.ts ?? c?.ts ?? 0).toISOString().replace('T', ' ').slice(0, 23);
  if (r) {
    const failed = r.error_kind !== null || (r.status ?? 0) >= 400;
    const status = `${r.status ?? '–'}${r.error_kind ? ` ${r.error_kind}` : ''}`;
    out.push(
      `${paint('bold', `Request ${id}`)} · ${when} · ${r.mode}/${r.format} · ${r.upstream_model ?? r.client_model ?? '–'} · ${paint(failed ? 'red' : 'green', status)} · ${r.duration_ms === null ? '–' : `${Math.round(r.duration_ms)} ms`} · ${r.input_tokens} in / ${r.output_tokens} out${r.stream ? ' · streamed' : ''}`,
    );
  } else out.push(`${paint('bold', `Request ${id}`)} · ${when} (no access-log row)`);
  if (!c) {
    out.push(
      '',
      `Not captured (observability.capture = ${d.capture_mode}${d.capture_mode === 'errors' ? ': successful requests are not kept' : ''}).`,
    );
    return `${out.join('\n')}\n`;
  }
  if (c.truncated)
    out.push(paint('yellow', 'Some bodies were cut at the capture cap (observability.capture_max_bytes).'));

  const section = (title: string, part: CapturedPart | null, extra = '') => {
    if (!part) return;
    out.push('', paint(['bold', 'cyan'], `── ${title} ${'─'.repeat(Math.max(3, 60 - title.length))}`));
    const head = part.method ? `${part.method} ${part.url}` : `HTTP ${part.status ?? '–'}`;
    out.push(
      paint('bold', head) +
        (part.t !== undefined ? paint('dim', `  (+${part.t.toFixed(1)} ms)`) : '') +
        extra,
    );
    for (const [k, v] of Object.entries(part.headers)) out.push(`${paint('dim', `${k}:`)} ${v}`);
    out.push('');
    out.push(...bodyLines(part, paint));
  };

  section('Client request', c.client_request);
  changes(c, out, paint);
  section('Upstream request', c.upstream_request);
  if (c.upstream_attempts.length)
    out.push(
      paint(
        'yellow',
        `Retried: ${c.upstream_attempts.map((a) => `${a.status ?? 'no answer'} at +${a.t.toFixed(0)} ms`).join(', ')}`,
      ),
    );
  section('Upstream response', c.upstream_response);
  if (c.agent) {
    out.push('', paint(['bold', 'cyan'], `── Agent messages (${c.agent.messages.length}) ${'─'.repeat(40)}`));
    for (const m of c.agent.messages)
      out.push(`${paint('dim', `+${m.t.toFixed(1).padStart(8)} ms`)}  ${JSON.stringify(m.message)}`);
    if (c.agent.truncated) out.push(paint('yellow', '… cut at the capture cap'));
  }
  section('Response to the client', c.response);
  return `${out.join('\n')}\n`;
}

function bodyLines(part: CapturedPart, paint: (s: Style, t: string) => string): string[] {
  const b = part.body;
  if (!b) return [paint('dim', '(no body)')];
  const cut = b.truncated ? [paint('yellow', `… cut: ${b.size} bytes in all, the first ones kept`)] : [];
  if (part.events) {
    return [
      ...part.events.map(
        (e) =>
          `${paint('dim', `+${e.t.toFixed(1).padStart(8)} ms`)}  ${paint('magenta', e.event.padEnd(20))} ${e.data}`,
      ),
      ...cut,
    ];
  }
  if (b.encoding === 'base64') return [paint('dim', `(${b.size} bytes, not UTF-8; base64:)`), b.text, ...cut];
  const doc = bodyJson(b);
  if (doc === undefined) return [b.text, ...cut];
  return [colorJson(JSON.stringify(doc, null, 2), paint), ...cut];
}

function changes(c: Capture, out: string[], paint: (s: Style, t: string) => string) {
  const ch = requestChanges(c);
  if (!ch) return;
  out.push(
    '',
    paint(['bold', 'cyan'], `── What ccproxy changed (${ch.basis} → upstream request) ${'─'.repeat(8)}`),
  );
  const line = (l: string) => paint(l.startsWith('+') ? 'green' : l.startsWith('-') ? 'red' : 'yellow', l);
  if (ch.note) out.push(paint('dim', `body: not compared (${ch.note})`));
  else if (ch.body.length === 0) out.push(paint('dim', 'body: unchanged'));
  else out.push('body:', ...ch.body.map((x) => `  ${line(describeChange(x))}`));
  out.push('headers:', ...ch.headers.map((x) => `  ${line(describeChange(x))}`));
}

/** Pretty JSON with keys, strings and numbers coloured. */
function colorJson(text: string, paint: (s: Style, t: string) => string): string {
  return text.replace(
    /("(?:[^"\\]|\\.)*")(\s*:)?|\b(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)\b/g,
    (m, str: string | undefined, colon: string | undefined, lit: string | undefined) => {
      if (str !== undefined) return colon ? paint('cyan', str) + colon : paint('green', str);
      return lit !== undefined ? paint('yellow', m) : m;
    },
  );
}
