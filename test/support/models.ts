/**
 * `GET /v1/models`: the real list shape, newest first, with cursor paging
 * (`limit` 1–1000, default 20; `after_id` / `before_id`).
 */

export interface ModelInfo {
  type: 'model';
  id: string;
  display_name: string;
  created_at: string;
}

const model = (id: string, display_name: string, created_at: string): ModelInfo => ({
  type: 'model',
  id,
  display_name,
  created_at,
});

/** Current first-party models (ids as Claude Code 2.1 knows them; dates approximate). */
export const DEFAULT_MODELS: ModelInfo[] = [
  model('claude-opus-5-5', 'Claude Opus 5.5', '2026-09-15T00:00:00Z'),
  model('claude-sonnet-5-5', 'Claude Sonnet 5.5', '2026-09-15T00:00:00Z'),
  model('claude-haiku-5-5', 'Claude Haiku 5.5', '2026-09-01T00:00:00Z'),
  model('claude-opus-5', 'Claude Opus 5', '2026-06-10T00:00:00Z'),
  model('claude-sonnet-5', 'Claude Sonnet 5', '2026-06-10T00:00:00Z'),
  model('claude-opus-4-8', 'Claude Opus 4.8', '2026-04-20T00:00:00Z'),
  model('claude-opus-4-7', 'Claude Opus 4.7', '2026-03-18T00:00:00Z'),
  model('claude-sonnet-4-6', 'Claude Sonnet 4.6', '2026-02-17T00:00:00Z'),
  model('claude-opus-4-6', 'Claude Opus 4.6', '2026-02-05T00:00:00Z'),
  model('claude-opus-4-5-20251101', 'Claude Opus 4.5', '2025-11-24T00:00:00Z'),
  model('claude-haiku-4-5-20251001', 'Claude Haiku 4.5', '2025-10-15T00:00:00Z'),
  model('claude-sonnet-4-5-20250929', 'Claude Sonnet 4.5', '2025-09-29T00:00:00Z'),
  model('claude-opus-4-1-20250805', 'Claude Opus 4.1', '2025-08-05T00:00:00Z'),
  model('claude-opus-4-20250514', 'Claude Opus 4', '2025-05-22T00:00:00Z'),
  model('claude-sonnet-4-20250514', 'Claude Sonnet 4', '2025-05-22T00:00:00Z'),
].sort((a, b) => b.created_at.localeCompare(a.created_at));

export type ListResult = { ok: true; body: unknown } | { ok: false; message: string };

export function listModels(models: ModelInfo[], query: Record<string, string>): ListResult {
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return {
      ok: false,
      message: 'limit: Input should be greater than or equal to 1 and less than or equal to 1000',
    };
  }
  let slice: ModelInfo[];
  if (query.after_id !== undefined) {
    const i = models.findIndex((m) => m.id === query.after_id);
    slice = i < 0 ? [] : models.slice(i + 1, i + 1 + limit);
    return page(slice, i >= 0 && i + 1 + limit < models.length);
  }
  if (query.before_id !== undefined) {
    const i = models.findIndex((m) => m.id === query.before_id);
    slice = i < 0 ? [] : models.slice(Math.max(0, i - limit), i);
    return page(slice, i - limit > 0);
  }
  slice = models.slice(0, limit);
  return page(slice, limit < models.length);
}

function page(data: ModelInfo[], hasMore: boolean): ListResult {
  return {
    ok: true,
    body: { data, has_more: hasMore, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null },
  };
}
