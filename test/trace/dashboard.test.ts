/**
 * The capture in the dashboard, in a real headless Chromium against a real proxy with capture on:
 * a row opens its four parts; "Changes" shows what ccproxy changed (the injected system prompt, the
 * headers); a stream's events are listed with times; "Copy as curl" puts the right command on the
 * clipboard (and it works: run with curl, it gets an answer); "Download HAR" saves a HAR 1.2 file that
 * Chromium's own HAR reader (playwright's routeFromHAR) replays.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import type { BrowserContext, Page } from 'playwright-core';
import { curlCommand } from '../../src/observability/capture/replay.ts';
import type { Capture } from '../../src/observability/capture/types.ts';
import { tempDir } from '../observability/helpers.ts';
import { ARTIFACTS, buildDashboard, chromiumSkip, launchChromium } from '../support/chromium.ts';
import { reply } from '../support/fake-upstream.ts';
import { assertHar } from './har-shape.ts';
import { type CaptureRig, PROXY_TOKEN, startCaptureRig } from './helpers.ts';

const skip = chromiumSkip;
const run = promisify(execFile);

describe('the capture in the dashboard', { skip }, () => {
  let rig: CaptureRig;
  let context: BrowserContext;
  let dir: string;
  const cleanups: Array<() => unknown> = [];

  before(async () => {
    dir = tempDir({ after: (fn) => cleanups.push(fn) });
    // The bundle of these sources, not dist/'s.
    const bundle = buildDashboard(path.join(dir, 'bundle'));
    rig = await startCaptureRig(
      { observability: { capture: 'all', dashboard: true } },
      { dashboardDir: bundle },
    );
    context = await launchChromium(path.join(dir, 'profile'), { width: 1500, downloads: true });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: rig.proxy.url });

    const openai = new OpenAI({ baseURL: `${rig.proxy.url}/api/v1`, apiKey: PROXY_TOKEN, maxRetries: 0 });
    rig.fake.enqueue(reply.text('Bonjour.'));
    await openai.chat.completions.create(
      {
        model: 'claude-sonnet-5-5',
        messages: [
          { role: 'system', content: 'Answer in French.' },
          { role: 'user', content: 'Say hello.' },
        ],
      },
      { headers: { 'x-request-id': 'dash_openai' } },
    );
    rig.fake.enqueue(reply.text('One two three.', { deltas: 3 }));
    const res = await fetch(`${rig.proxy.url}/api/v1/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': PROXY_TOKEN,
        'x-request-id': 'dash_stream',
      },
      body: JSON.stringify({
        model: 'claude-sonnet-5-5',
        max_tokens: 64,
        stream: true,
        messages: [{ role: 'user', content: 'count' }],
      }),
    });
    await res.text();
  });

  after(async () => {
    await context?.close();
    await rig?.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  async function openRow(id: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${rig.proxy.url}/dashboard`);
    const form = await page.waitForSelector('#token-form, #live-state.on', { timeout: 10_000 });
    if ((await form.getAttribute('id')) === 'token-form') {
      await page.fill('#token-form input[name=token]', PROXY_TOKEN);
      await page.click('#token-form button[type=submit]');
    }
    await page.click(`#live-table tbody tr[data-id="${id}"]`, { timeout: 10_000 });
    await page.waitForSelector('#details #capture', { timeout: 10_000 });
    return page;
  }

  test('a row opens its parts; Changes shows what ccproxy changed; copy as curl is right and works', async () => {
    const page = await openRow('dash_openai');
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    // The client's request, pretty-printed and collapsible.
    const client = await page.textContent('#capture .tab-body');
    assert.match(client ?? '', /POST \/api\/v1\/chat\/completions/);
    assert.match(client ?? '', /Answer in French\./);
    assert.ok(await page.$('#capture .tab-body details.json-node[open]'));

    await page.click('#capture .tabs button[data-tab="changes"]');
    const body = await page.$$eval('#body-changes li', (lis) => lis.map((li) => li.textContent ?? ''));
    assert.ok(
      body.some((l) => /^\+ system\[0\]: \{"type":"text","text":"You are Claude Code/.test(l)),
      body.join('\n'),
    );
    const headers = await page.$$eval('#header-changes li', (lis) => lis.map((li) => li.textContent ?? ''));
    assert.ok(
      headers.some((l) => l.startsWith('~ authorization')) ||
        headers.some((l) => l.startsWith('+ authorization')),
    );
    assert.ok(headers.some((l) => /anthropic-beta/.test(l)));

    await page.click('#capture .tabs button[data-tab="upstream-request"]');
    assert.match(
      (await page.textContent('#capture .tab-body')) ?? '',
      /POST http:\/\/127\.0\.0\.1:\d+\/v1\/messages/,
    );
    await page.click('#capture .tabs button[data-tab="response"]');
    assert.match((await page.textContent('#capture .tab-body')) ?? '', /chat\.completion/);

    await page.click('#copy-curl');
    await page.waitForSelector('#curl-text');
    const shown = await page.textContent('#curl-text');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    const detail = (await rig.detail('dash_openai')).body;
    assert.equal(copied, curlCommand(detail.capture as Capture, rig.proxy.url));
    assert.equal(shown, copied);
    assert.match(copied, /-H "authorization: Bearer \$CCPROXY_TOKEN"/);
    assert.ok(!copied.includes(PROXY_TOKEN));
    // The command works as it is.
    rig.fake.enqueue(reply.text('Bonjour encore.'));
    const { stdout } = await run('bash', ['-c', copied], {
      env: { ...process.env, CCPROXY_TOKEN: PROXY_TOKEN },
    });
    assert.equal(
      (JSON.parse(stdout) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message
        .content,
      'Bonjour encore.',
    );

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.click('#capture .tabs button[data-tab="changes"]');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-capture.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("a stream's events with their times; Download HAR gives a file Chromium's HAR reader replays", async () => {
    const page = await openRow('dash_stream');
    await page.click('#capture .tabs button[data-tab="upstream-response"]');
    const events = await page.$$eval('#capture .events li', (lis) =>
      lis.map((li) => [
        li.querySelector('.event-t')?.textContent ?? '',
        li.querySelector('.event-name')?.textContent ?? '',
      ]),
    );
    assert.ok(events.length >= 8, `${events.length} events`);
    assert.equal(events[0]![1], 'message_start');
    assert.ok(
      events.every(([t]) => /^\+\d+\.\d ms$/.test(t!)),
      events.map((e) => e[0]).join(' '),
    );

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-har')]);
    assert.equal(download.suggestedFilename(), 'ccproxy-dash_stream.har');
    const file = path.join(dir, 'dash.har');
    await download.saveAs(file);
    const har = JSON.parse(fs.readFileSync(file, 'utf8'));
    assertHar(har);
    assert.equal(har.log.entries.length, 2);
    await page.close();

    // Chromium's HAR reader answers the same request from the file, with the captured stream.
    const replayer = await context.newPage();
    await replayer.routeFromHAR(file, { url: '**/api/v1/messages', notFound: 'abort' });
    await replayer.goto(`${rig.proxy.url}/dashboard`);
    const sent = har.log.entries[0].request.postData.text as string;
    const got = await replayer.evaluate(
      async ([url, body]) => {
        const res = await fetch(url!, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        return { status: res.status, text: await res.text() };
      },
      [`${rig.proxy.url}/api/v1/messages`, sent],
    );
    assert.equal(got.status, 200);
    assert.match(got.text, /event: message_stop/);
    assert.equal(got.text, har.log.entries[0].response.content.text);
    await replayer.close();
  });
});
