/**
 * Load: 200 concurrent streams in all three client formats while a tenth of the clients hang up at
 * random points — every other stream arrives whole and exact, and every upstream request of a client
 * that left is aborted. And an answer far larger than anything the proxy should hold passes through
 * with the test process's memory staying bounded (the proxy streams; it never buffers).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import {
  type Answer,
  assembledText,
  bodyFor,
  type ClientFormat,
  FORMATS,
  PATHS,
  streamComplete,
} from '../helpers/formats.ts';
import { type ReceivedRequest, reply } from '../support/fake-upstream.ts';
import { seededRandom } from '../support/sse.ts';
import { activeResources, assertNoLeaks, type Bench, startBench, until, within } from './harness.ts';

const STREAMS = 200;
const LEAVERS = 20;
const SEED = Number(process.env.RESILIENCE_SEED ?? 20260501);

const promptFor = (i: number) => `load stream ${i}`;
/** Each stream's own answer, so a byte from another stream would show. */
const answerFor = (i: number) =>
  Array.from({ length: 24 }, (_, w) => `s${i}w${w}${w % 5 === 4 ? '.' : ''}`).join(' ') + ' ✓';

function indexOf(r: ReceivedRequest): number {
  const m = JSON.stringify(r.body).match(/load stream (\d+)/);
  return m ? Number(m[1]) : -1;
}

describe('resilience: load', () => {
  let resources: Map<string, number>;
  let bench: Bench;

  before(async () => {
    resources = activeResources();
    bench = await startBench({ upstream: { timeouts: { first_byte_s: 10, idle_s: 10 } } });
  });
  after(async () => {
    await bench?.close();
  });

  it(`${STREAMS} concurrent streams, ${LEAVERS} clients leaving at random points: the rest intact, the leavers' upstream requests aborted`, async () => {
    const random = seededRandom(SEED);
    const leavers = new Map<number, number>(); // stream index → chunks read before hanging up (0 = before the answer)
    while (leavers.size < LEAVERS) leavers.set(Math.floor(random() * STREAMS), Math.floor(random() * 6));
    bench.fake.handle((r) => {
      const i = indexOf(r);
      // A leaver's answer is long enough (over a second) that it surely leaves before the end.
      if (leavers.has(i)) return reply.slow(10, reply.text(`${answerFor(i)} `.repeat(5), { deltas: 120 }));
      return reply.slow(3, reply.text(answerFor(i), { deltas: 24 }));
    });

    const ids: string[] = [];
    const run = async (i: number): Promise<Answer | 'left'> => {
      const format: ClientFormat = FORMATS[i % FORMATS.length]!;
      const id = `load-${SEED}-${i}`;
      ids[i] = id;
      bench.sent.push(id);
      const leaveAfter = leavers.get(i);
      const ac = new AbortController();
      if (leaveAfter === 0) setImmediate(() => ac.abort());
      try {
        const res = await request(`${bench.proxy.url}${PATHS[format]}`, {
          method: 'POST',
          dispatcher: bench.agent,
          headers: { 'content-type': 'application/json', 'x-request-id': id },
          body: JSON.stringify(bodyFor(format, true, promptFor(i))),
          signal: ac.signal,
        });
        let text = '';
        let chunks = 0;
        for await (const chunk of res.body) {
          text += chunk.toString();
          if (leaveAfter !== undefined && ++chunks >= leaveAfter) {
            ac.abort();
            break;
          }
        }
        if (leaveAfter !== undefined) return 'left';
        return { status: res.statusCode, headers: res.headers, text, json: undefined };
      } catch (err) {
        if (leaveAfter !== undefined) return 'left';
        throw err;
      }
    };
    const results = await within(
      30_000,
      'all streams',
      Promise.all(Array.from({ length: STREAMS }, (_, i) => run(i))),
    );

    for (const [i, r] of results.entries()) {
      if (leavers.has(i)) {
        assert.equal(r, 'left');
        continue;
      }
      assert.ok(r !== 'left');
      const format = FORMATS[i % FORMATS.length]!;
      assert.equal(r.status, 200, `stream ${i}`);
      assert.equal(assembledText(format, r), answerFor(i), `stream ${i} (${format}) arrived exact`);
      assert.ok(streamComplete(format, r.text), `stream ${i} complete`);
    }

    // Every upstream exchange ends; those of the clients that left end as aborted by the proxy.
    const received = bench.fake.messages();
    const outcomes = await within(
      10_000,
      'every upstream exchange to end',
      Promise.all(received.map(async (r) => ({ i: indexOf(r), ...(await r.ended) }))),
    );
    for (const o of outcomes) {
      if (leavers.has(o.i))
        assert.deepEqual(o.aborted, true, `stream ${o.i}: the upstream request was aborted`);
      else assert.equal(o.aborted, false, `stream ${o.i}`);
    }
    const stayed = STREAMS - LEAVERS;
    assert.equal(outcomes.filter((o) => !leavers.has(o.i)).length, stayed, 'one upstream request per stream');

    // One access-log row per request; a client that left before its request was read has none to have.
    const rows = await bench.rows(ids.filter((_, i) => leavers.get(i) !== 0));
    for (const [i, id] of ids.entries()) {
      const row = rows.get(id);
      if (!row) continue;
      assert.equal(row.client_aborted, leavers.has(i), `stream ${i}: client_aborted`);
      if (!leavers.has(i)) {
        assert.equal(row.status, 200);
        assert.equal(row.error_kind, null);
        assert.ok(row.output_tokens > 0, 'usage recorded');
      }
    }
    await until(
      'upstream slots released',
      async () => (await bench.get('/api/status')).json.concurrency.in_flight === 0,
    );
    bench.fake.handle(undefined);
  });

  for (const [format, stream, mb] of [
    ['anthropic', true, 256],
    ['anthropic', false, 256],
    // Large enough that the noise of a garbage-collected heap (up to ~40 MB seen, more under CPU
    // load) stays far below half the answer, while buffering it would exceed the whole.
    ['openai', true, 192],
    // Not `responses`: its protocol repeats the whole answer in the final response.completed event,
    // so that format holds the answer's text until the stream ends, by design.
  ] as const) {
    it(`a ${mb} MB answer (${format}, stream=${stream}) streams through with memory bounded`, async () => {
      const bytes = mb * 1024 * 1024;
      bench.fake.enqueue(reply.huge(bytes, 16 * 1024));
      const base = process.memoryUsage().rss;
      let peak = base;
      const sample = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 10);
      let received = 0;
      let tail = '';
      try {
        await within(
          120_000,
          'the huge answer',
          (async () => {
            const res = await request(`${bench.proxy.url}${PATHS[format]}`, {
              method: 'POST',
              dispatcher: bench.agent,
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(bodyFor(format, stream)),
            });
            assert.equal(res.statusCode, 200);
            for await (const chunk of res.body) {
              received += chunk.length;
              tail = (tail + chunk.toString('latin1')).slice(-512);
            }
          })(),
        );
      } finally {
        clearInterval(sample);
      }
      assert.ok(received >= bytes * (format === 'anthropic' ? 1 : 0.5), `received ${received} bytes`);
      if (stream)
        assert.match(
          tail,
          format === 'anthropic' ? /message_stop/ : format === 'openai' ? /\[DONE\]/ : /response\.completed/,
        );
      else assert.match(tail, /"stop_reason":"end_turn"/);
      const grown = (peak - base) / 1024 / 1024;
      // Buffering the answer would grow memory by its whole size; streaming keeps it to a few buffers.
      assert.ok(grown < mb / 2, `RSS grew by ${grown.toFixed(0)} MB while ${mb} MB went through`);
      if (process.env.RESILIENCE_VERBOSE)
        console.log(`${format} stream=${stream}: RSS +${grown.toFixed(1)} MB for ${mb} MB`);
    });
  }

  it('leaves nothing open', async () => {
    await bench.close();
    await assertNoLeaks(resources);
  });
});
