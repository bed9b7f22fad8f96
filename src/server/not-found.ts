/**
 * Well-known APIs ccproxy does not offer, and what to do instead: a client that calls one gets a 404
 * that says so, not only that the path is unknown.
 */
const ELSEWHERE: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /^\/v1\/messages\/batches(\/|$)/,
    'ccproxy does not offer the Message Batches API: send the requests one by one to /v1/messages, or call api.anthropic.com with an Anthropic API key for batches.',
  ],
  [
    /^\/v1\/files(\/|$)/,
    'ccproxy does not offer the Files API: send documents and images inline (base64 or a URL) in the message.',
  ],
  [/^\/v1\/complete$/, 'The legacy Text Completions API is not offered: use POST /v1/messages.'],
  [/^\/v1\/completions$/, 'The legacy Completions API is not translated: use POST /v1/chat/completions.'],
  [
    /^\/v1\/embeddings$/,
    'Claude has no embeddings model: use an embeddings provider (Anthropic suggests Voyage AI) for them.',
  ],
  [/^\/v1\/(images|audio)\//, 'Claude does not generate images or audio: only text (and tool calls).'],
];

/** What to use instead of `path` (the URL's path, under `/api` or `/sdk`), if it is one of those APIs. */
export function notOffered(path: string): string | undefined {
  const at = path.indexOf('/v1/');
  if (at === -1) return undefined;
  const api = path.slice(at).replace(/\/+$/, '');
  return ELSEWHERE.find(([pattern]) => pattern.test(api))?.[1];
}
