/**
 * A near-free fake Anthropic upstream for benchmarks: canned answers, precomputed bytes, no
 * validation. Both "direct" clients and ccproxy talk to it, so ratios compare like with like.
 * Run as a child process: prints its port on stdout.
 *   POST /v1/messages            non-streaming → a small Message JSON
 *   POST /v1/messages stream     → 50 text deltas in Anthropic SSE, every event in a write of its own
 *                                   (as the real API sends them while it generates): the next event
 *                                   goes out on the next turn of the event loop, or `pace` ms later
 *                                   with ?pace=ms or header x-bench-pace-ms
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export const DELTAS = 50;

function sse(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

const message = {
  id: 'msg_bench',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-5-5',
  content: [{ type: 'text', text: 'Hello! This is a benchmark answer of a typical short length.' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 25, output_tokens: 14, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
};
const JSON_BODY = Buffer.from(JSON.stringify(message));

const head = [
  sse('message_start', {
    type: 'message_start',
    message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 25, output_tokens: 1 } },
  }),
  sse('content_block_start', {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'text', text: '' },
  }),
  sse('ping', { type: 'ping' }),
];
const delta = (i: number) =>
  sse('content_block_delta', {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text: `word${i} ` },
  });
const tail = [
  sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
  sse('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: DELTAS },
  }),
  sse('message_stop', { type: 'message_stop' }),
];
/** Every event of a stream as its own buffer, in order: each goes out in a write of its own. */
const FRAMES = [...head, ...Array.from({ length: DELTAS }, (_, i) => delta(i)), ...tail].map((f) =>
  Buffer.from(f),
);

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'request-id': 'req_bench',
};
const JSON_HEADERS = {
  'content-type': 'application/json',
  'content-length': String(JSON_BODY.length),
  'request-id': 'req_bench',
};

function serve(): void {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url?.startsWith('/v1/models')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            data: [
              {
                type: 'model',
                id: 'claude-sonnet-5-5',
                display_name: 'Claude Sonnet 5.5',
                created_at: '2026-10-21T00:00:00Z',
              },
            ],
            has_more: false,
          }),
        );
        return;
      }
      const body = Buffer.concat(chunks).toString();
      const stream = body.includes('"stream":true');
      if (!stream) {
        res.writeHead(200, JSON_HEADERS);
        res.end(JSON_BODY);
        return;
      }
      const pace = Number(
        req.headers['x-bench-pace-ms'] ?? new URL(req.url ?? '/', 'http://x').searchParams.get('pace') ?? 0,
      );
      res.writeHead(200, SSE_HEADERS);
      let i = 0;
      let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
      const next = () => {
        if (i === FRAMES.length - 1) return void res.end(FRAMES[i]);
        res.write(FRAMES[i++]);
        timer = pace > 0 ? setTimeout(next, pace) : setImmediate(next);
      };
      res.on('close', () => {
        clearTimeout(timer as NodeJS.Timeout);
        clearImmediate(timer as NodeJS.Immediate);
      });
      next();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
}

// Imported for DELTAS by the bench itself: only a child started on this file serves.
if (process.argv[1] === fileURLToPath(import.meta.url)) serve();
