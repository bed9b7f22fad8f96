import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AffinityMap, conversationKey } from '../../src/accounts/affinity.ts';
import { hasSignedThinking, isSignatureRejection, stripSignedThinking } from '../../src/accounts/history.ts';
import { unreadFirstByte } from '../../src/body-bytes.ts';
import { ChunkedBytes } from '../../src/chunked-bytes.ts';
import type { MessagesRequest } from '../../src/formats/anthropic/types.ts';
import { parseInPieces } from '../../src/server/json-pieces.ts';
import { JsonShapeScanner } from '../../src/server/json-shape.ts';

const thinking = (t: string) => ({ type: 'thinking' as const, thinking: t, signature: `sig-${t}` });

describe('history a moved conversation carries', () => {
  it('drops thinking from earlier turns and keeps everything else', () => {
    const req: MessagesRequest = {
      model: 'claude-sonnet-5-5',
      max_tokens: 100,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [thinking('a'), { type: 'text', text: 'hello' }] },
        { role: 'user', content: 'and?' },
        { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'xyz' }] },
        { role: 'user', content: 'go on' },
      ],
    };
    assert.equal(hasSignedThinking(req), true);
    const s = stripSignedThinking(req);
    assert.deepEqual(s, { blocks: 2, thinkingOff: false });
    assert.deepEqual(req.messages, [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ type: 'text', text: 'hello' }] },
      { role: 'user', content: 'and?' },
      // the thinking-only turn is gone; the API joins the user turns around it
      { role: 'user', content: 'go on' },
    ]);
    assert.deepEqual(req.thinking, { type: 'enabled', budget_tokens: 2048 });
    assert.equal(hasSignedThinking(req), false);
  });

  it('turns thinking off for one request when a tool loop in progress lost its thinking', () => {
    const req: MessagesRequest = {
      model: 'claude-sonnet-5-5',
      max_tokens: 100,
      thinking: { type: 'adaptive' },
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: [thinking('call it'), { type: 'tool_use', id: 'toolu_1', name: 'w', input: {} }],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }] },
      ],
    };
    assert.deepEqual(stripSignedThinking(req), { blocks: 1, thinkingOff: true });
    assert.deepEqual(req.thinking, { type: 'disabled' });
    assert.deepEqual(req.messages[1]!.content, [{ type: 'tool_use', id: 'toolu_1', name: 'w', input: {} }]);
  });

  it('recognises the upstream refusing a signature', () => {
    assert.equal(
      isSignatureRejection(400, 'messages.1.content.0: Invalid `signature` in `thinking` block'),
      true,
    );
    assert.equal(isSignatureRejection(400, 'max_tokens: Field required'), false);
    assert.equal(isSignatureRejection(429, 'signature'), false);
  });
});

describe('conversation keys', () => {
  const base = (extra: Partial<MessagesRequest> = {}): MessagesRequest => ({
    model: 'm',
    max_tokens: 1,
    system: 'You are helpful.',
    messages: [{ role: 'user', content: 'first question' }],
    ...extra,
  });

  it("Claude Code's session: the header, else the session in metadata.user_id (JSON or older form)", () => {
    assert.equal(conversationKey(base(), { 'x-claude-code-session-id': 'abc-123' }), 'cc:abc-123');
    const json = JSON.stringify({ device_id: 'd', account_uuid: '', session_id: 'a3c2701a-0245-4b65' });
    assert.equal(conversationKey(base({ metadata: { user_id: json } }), {}), 'cc:a3c2701a-0245-4b65');
    const older = 'user_abcdef_account__session_0f0e0d0c-1111-2222-3333-444455556666';
    assert.equal(
      conversationKey(base({ metadata: { user_id: older } }), {}),
      'cc:0f0e0d0c-1111-2222-3333-444455556666',
    );
    assert.equal(conversationKey(base(), {}, 'my-session'), 'sdk:my-session');
  });

  it('otherwise the system prompt and first user message: the same for every turn, different for another start', () => {
    const first = conversationKey(base(), {});
    const later = conversationKey(
      base({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'first question' }] },
          { role: 'assistant', content: 'answer' },
          { role: 'user', content: 'follow-up' },
        ],
      }),
      {},
    );
    assert.ok(first?.startsWith('h:'));
    assert.equal(later, first);
    assert.notEqual(conversationKey(base({ messages: [{ role: 'user', content: 'other' }] }), {}), first);
    assert.notEqual(conversationKey(base({ system: 'Another system.' }), {}), first);
    assert.equal(conversationKey(base({ system: undefined, messages: [] }), {}), undefined);
  });

  it('a conversation left unread is keyed as the parsed one, read only up to its first question when near the start', () => {
    const unread = (body: object) => {
      const bytes = Buffer.from(JSON.stringify(body));
      const scanner = new JsonShapeScanner({ maxDepth: 1e9, maxElements: 1e9 });
      scanner.feed(bytes);
      return parseInPieces(
        new ChunkedBytes([bytes]),
        scanner.topLevel,
        scanner.nested,
        0,
        10,
      ) as MessagesRequest;
    };
    const said = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ role: 'assistant', content: `note ${i}` }));
    const early = {
      model: 'm',
      system: 'Be brief.',
      messages: [...said(2), { role: 'user', content: 'the question' }],
    };
    const request = unread(early);
    assert.equal(conversationKey(request, {}), conversationKey(early as MessagesRequest, {}));
    assert.equal(unreadFirstByte(request, 'messages'), '['.charCodeAt(0), 'still unread');
    // Far from the start (or never), it is read whole: the same key.
    for (const messages of [[...said(12), { role: 'user', content: 'late' }], said(12), []]) {
      const body = { ...early, messages };
      assert.equal(conversationKey(unread(body), {}), conversationKey(body as MessagesRequest, {}));
    }
  });

  it('the affinity map forgets the oldest and the idle', () => {
    const m = new AffinityMap<string>(2, 1000);
    m.set('a', 'x', 0);
    m.set('b', 'y', 0);
    m.get('a', 1);
    m.set('a', 'x', 1);
    m.set('c', 'z', 2);
    assert.deepEqual([m.get('a', 3), m.get('b', 3), m.get('c', 3)], ['x', undefined, 'z']);
    assert.equal(m.get('a', 2000), undefined);
  });
});
