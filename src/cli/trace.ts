/**
 * `ccproxy trace`: captured requests (observability.capture), from the running proxy's logs API.
 *   trace list [--errors] [--model M] [--since 1h] [--limit N]   the captured requests, newest first
 *   trace show ID                                                 the four parts, readable (coloured on a terminal)
 *   trace replay ID [--mode api|sdk] [--stream|--no-stream] [--diff]
 *                                                                 send the client's request again, print the answer
 *   trace export ID --har FILE                                    the capture as an HTTP Archive
 * The id is the `x-request-id` every answer carries.
 * What only one subcommand needs (rendering, replay, diff, HAR) loads when it runs: `ccproxy serve`
 * loads this file to register the commands, and needs none of it.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import type { bodyJson } from '../observability/capture/changes.ts';
import type { Change } from '../observability/capture/diff.ts';
import type { replayRequest } from '../observability/capture/replay.ts';
import type { parseEvent } from '../observability/capture/store-doc.ts';
import type { Capture, CapturedPart, RequestDetail } from '../observability/capture/types.ts';
import type { QueryPage } from '../observability/logs-api/routes.ts';
import { VERSION } from '../version.ts';
import { addProxyOptions, connect, type ProxyClient, type ProxyOptions } from './proxy-client.ts';
import { table } from './table.ts';

/** A failure to tell the user in one line (exit code 1). */
export class TraceError extends Error {}

const TIMEOUT_MS = 10_000;

/** GET a logs API path; its error, or an unreachable proxy, as a TraceError. */
async function getJson<T>(client: ProxyClient, path: string): Promise<T> {
  let res: Response;
  try {
    res = await client.get(path, TIMEOUT_MS);
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    throw new TraceError(
      `ccproxy is not running at ${client.base}${code ? ` (${code === 'ECONNREFUSED' ? 'connection refused' : code})` : ''}: start it with \`ccproxy serve\`, or point this at it with --port or --url.`,
    );
  }
  const body = (await res.json().catch(() => undefined)) as
    | { type?: string; error?: { message?: string } }
    | undefined;
  if (res.status === 401)
    throw new TraceError(
      `ccproxy at ${client.base} refused the token: set security.auth_token (or SECURITY__AUTH_TOKEN) to the one it was started with.`,
    );
  // The proxy's own "no route" (an Anthropic error body), not the logs API's "no such request".
  if (res.status === 404 && body?.type === 'error')
    throw new TraceError(
      `ccproxy at ${client.base} has no access log: start it with observability.capture = "all" or "errors".`,
    );
  if (!res.ok) throw new TraceError(body?.error?.message ?? `${path} answered HTTP ${res.status}.`);
  return body as T;
}

async function detailOf(client: ProxyClient, id: string): Promise<RequestDetail> {
  return getJson<RequestDetail>(client, `/logs/requests/${encodeURIComponent(id)}`);
}

async function captureOf(client: ProxyClient, id: string): Promise<RequestDetail & { capture: Capture }> {
  const d = await detailOf(client, id);
  if (!d.capture)
    throw new TraceError(
      `Request ${id} was not captured (observability.capture = ${d.capture_mode}${d.capture_mode === 'errors' ? ', which keeps failed requests only' : ''}).`,
    );
  return d as RequestDetail & { capture: Capture };
}

export interface ListOptions {
  errors?: boolean;
  model?: string;
  since?: string;
  limit?: string;
}

export async function traceList(client: ProxyClient, o: ListOptions): Promise<string> {
  const qs = new URLSearchParams({ captured: 'true', limit: o.limit ?? '20' });
  if (o.limit !== undefined && !/^[1-9]\d{0,4}$/.test(o.limit))
    throw new TraceError(`--limit must be a number from 1 to 10000; got ${o.limit}.`);
  if (o.errors) qs.set('error', 'true');
  if (o.model) qs.set('model', o.model);
  if (o.since !== undefined) {
    if (!/^\d+[smhdw]$/.test(o.since))
      throw new TraceError(`--since takes a time ago like 30m, 1h, 7d; got ${o.since}.`);
    qs.set('from', `-${o.since}`);
  }
  const page = await getJson<QueryPage>(client, `/logs/query?${qs}`);
  if (page.rows.length === 0) return 'No captured requests match.\n';
  const pad = (n: number) => String(n).padStart(2, '0');
  const when = (ts: number) => {
    const d = new Date(ts);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  };
  const rows = page.rows.map((r) => [
    when(r.ts),
    r.id,
    `${r.mode}/${r.format}`,
    r.upstream_model ?? r.client_model ?? '–',
    `${r.status ?? '–'}${r.error_kind ? ` ${r.error_kind}` : ''}`,
    r.duration_ms === null ? '–' : `${Math.round(r.duration_ms)} ms`,
    `${r.input_tokens}/${r.output_tokens}`,
  ]);
  return `${table(['time', 'id', 'mode/format', 'model', 'status', 'duration', 'tokens in/out'], rows, 5)}\n`;
}

export async function traceShow(client: ProxyClient, id: string, color: boolean): Promise<string> {
  const { renderDetail } = await import('./trace/render.ts');
  return renderDetail(await detailOf(client, id), { color });
}

export interface ReplayCliOptions {
  mode?: string;
  stream?: boolean;
  diff?: boolean;
}

/** Keys that differ on every answer: left out of `--diff`. */
const VOLATILE = new Set([
  'id',
  'created',
  'created_at',
  'completed_at',
  'system_fingerprint',
  'request_id',
  'item_id',
  'response_id',
]);

/** What `--diff` reads captures with (loaded only for it). */
interface Readers {
  parseEvent: typeof parseEvent;
  bodyJson: typeof bodyJson;
}

/** An answer as something to compare: its JSON, or its events (pings aside) with JSON data. */
function comparable(body: string, sse: boolean, { parseEvent }: Readers): unknown {
  if (!sse) {
    try {
      return JSON.parse(body);
    } catch {
      return body;
    }
  }
  const frames = body.split(/\r?\n\r?\n/).filter((f) => f.trim() && !/^\s*:/.test(f));
  return frames
    .map(parseEvent)
    .filter((e) => e.event !== 'ping')
    .map((e) => {
      try {
        return { event: e.event, data: JSON.parse(e.data) as unknown };
      } catch {
        return { event: e.event, data: e.data };
      }
    });
}

function capturedComparable(part: CapturedPart | null, readers: Readers): unknown {
  if (!part?.body) return undefined;
  if (part.events) return comparable(part.body.text, true, readers);
  return readers.bodyJson(part.body) ?? part.body.text;
}

export async function traceReplay(
  client: ProxyClient,
  id: string,
  o: ReplayCliOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  if (o.mode !== undefined && o.mode !== 'api' && o.mode !== 'sdk')
    throw new TraceError(`--mode must be api or sdk; got ${o.mode}.`);
  const d = await captureOf(client, id);
  const { ReplayRefused, replayRequest } = await import('../observability/capture/replay.ts');
  let req: ReturnType<typeof replayRequest>;
  try {
    req = replayRequest(d.capture, { mode: o.mode as 'api' | 'sdk' | undefined, stream: o.stream });
  } catch (e) {
    if (e instanceof ReplayRefused) throw new TraceError(e.message);
    throw e;
  }
  const body = req.encoding === 'base64' ? new Uint8Array(Buffer.from(req.body, 'base64')) : req.body;
  let res: Response;
  try {
    res = await client.send(req.method, req.path, { headers: req.headers, body });
  } catch (e) {
    throw new TraceError(`Cannot reach ccproxy at ${client.base}: ${(e as Error).message}`);
  }
  err.write(
    `${req.method} ${req.path} → HTTP ${res.status} (replayed as ${res.headers.get('x-request-id') ?? '?'})\n`,
  );
  let text = '';
  const decoder = new TextDecoder();
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const s = decoder.decode(chunk, { stream: true });
      text += s;
      out.write(s);
    }
  }
  const rest = decoder.decode();
  text += rest;
  out.write(text.endsWith('\n') ? rest : `${rest}\n`);
  if (o.diff) {
    const readers: Readers = {
      parseEvent: (await import('../observability/capture/store-doc.ts')).parseEvent,
      bodyJson: (await import('../observability/capture/changes.ts')).bodyJson,
    };
    const { describeChange, jsonDiff } = await import('../observability/capture/diff.ts');
    const sse = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
    const before = capturedComparable(d.capture.response, readers);
    const wasStream = Boolean(d.capture.response?.events);
    if (before === undefined) err.write('No captured answer to compare with.\n');
    else if (wasStream !== sse)
      // A stream and a whole answer differ everywhere: say so rather than list it all.
      err.write(
        `The captured answer was ${wasStream ? 'a stream' : 'whole'} and this one is ${sse ? 'a stream' : 'whole'}: replay with ${wasStream ? '--stream' : '--no-stream'} to compare them.\n`,
      );
    else {
      const changes: Change[] = jsonDiff(before, comparable(text, sse, readers), { ignore: VOLATILE });
      err.write(
        changes.length === 0
          ? 'Same as the captured answer (ids and times aside).\n'
          : `Differences from the captured answer (ids and times aside):\n${changes.map((c) => `  ${describeChange(c)}`).join('\n')}\n`,
      );
    }
  }
  return res.ok ? 0 : 1;
}

export async function traceExport(client: ProxyClient, id: string, file: string): Promise<string> {
  const d = await captureOf(client, id);
  const { toHar } = await import('../observability/capture/har.ts');
  const har = `${JSON.stringify(toHar(d, client.base, VERSION), null, 2)}\n`;
  if (file === '-') return har;
  // Prompts and answers are private: the file is the user's only (an existing one too).
  try {
    fs.writeFileSync(file, har, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
  } catch (e) {
    throw new TraceError(`Cannot write ${file}: ${(e as Error).message}`);
  }
  return `Wrote ${file} (HAR 1.2, ${d.capture.upstream_request ? 2 : 1} entries).\n`;
}

export function registerTrace(program: Command): void {
  const trace = program
    .command('trace')
    .description('Captured requests (observability.capture): list, show, replay, export as HAR');
  const run = (fn: () => Promise<string | number>) =>
    fn().then(
      (r) => {
        if (typeof r === 'string') process.stdout.write(r);
        else process.exitCode = r;
      },
      (e: unknown) => {
        if (!(e instanceof TraceError)) throw e;
        process.stderr.write(`ccproxy: ${e.message}\n`);
        process.exitCode = 1;
      },
    );

  addProxyOptions(trace.command('list').description('Captured requests, newest first'))
    .option('--errors', 'failed requests only')
    .option('--model <model>', 'requests for this model (as asked or as answered)')
    .option('--since <ago>', 'from this long ago: 30m, 1h, 7d')
    .option('--limit <n>', 'at most this many (default 20)')
    .action((opts: ProxyOptions & ListOptions) => run(() => traceList(connect(program, opts).client, opts)));

  addProxyOptions(
    trace
      .command('show')
      .argument('<id>', 'the request id (its x-request-id)')
      .description('The captured request: client request, upstream request, upstream response, response'),
  )
    .option('--json', 'print what the logs API said, as JSON')
    .action((id: string, opts: ProxyOptions & { json?: boolean }) =>
      run(async () => {
        const { client } = connect(program, opts);
        if (opts.json) return `${JSON.stringify(await detailOf(client, id), null, 2)}\n`;
        return traceShow(client, id, Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
      }),
    );

  addProxyOptions(
    trace
      .command('replay')
      .argument('<id>', 'the request id (its x-request-id)')
      .description('Send the captured client request to the running proxy again and print the new answer'),
  )
    .option('--mode <mode>', 'answer it in this mode instead: api or sdk')
    .option('--stream', 'ask for a stream')
    .option('--no-stream', 'ask for a whole answer')
    .option('--diff', 'compare the new answer with the captured one')
    .action((id: string, opts: ProxyOptions & ReplayCliOptions) =>
      run(() => traceReplay(connect(program, opts).client, id, opts, process.stdout, process.stderr)),
    );

  addProxyOptions(
    trace
      .command('export')
      .argument('<id>', 'the request id (its x-request-id)')
      .description('The capture as an HTTP Archive (HAR 1.2)'),
  )
    .requiredOption('--har <file>', 'where to write it (- for standard output)')
    .action((id: string, opts: ProxyOptions & { har: string }) =>
      run(() => traceExport(connect(program, opts).client, id, opts.har)),
    );
}
