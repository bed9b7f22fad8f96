/**
 * `GET /v1/models` in OpenAI's shape: the Claude models, then the names the model rules map.
 * https://platform.openai.com/docs/api-reference/models/list
 *
 * Clients with a fixed model menu (or a check that the name exists) find their OpenAI name and the
 * short aliases; each mapped name reports the `created` of the Claude model it resolves to.
 */
import type { ModelRule } from '../../config/schema.ts';
import { ADVERTISED_OPENAI_MODELS, findModel, type ModelInfo, resolveModel } from '../models.ts';

export interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface OpenAIModelList {
  object: 'list';
  data: OpenAIModel[];
}

const seconds = (iso: string): number => {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
};

export function renderOpenAIModels(
  models: readonly ModelInfo[],
  rules: readonly ModelRule[],
): OpenAIModelList {
  const data: OpenAIModel[] = [];
  const created = new Map<string, number>();
  for (const m of models) {
    if (created.has(m.id)) continue;
    const c = seconds(m.created_at);
    created.set(m.id, c);
    data.push({ id: m.id, object: 'model', created: c, owned_by: 'anthropic' });
  }
  // Exact rules name models (user aliases, opus/sonnet/haiku); prefix and regex rules only match them.
  const names = [
    ...rules.filter((r) => r.match === 'exact').map((r) => r.pattern),
    ...ADVERTISED_OPENAI_MODELS,
  ];
  for (const name of names) {
    if (created.has(name)) continue;
    const target = resolveModel(name, rules);
    if (target === name) continue;
    const c = created.get(target) ?? 0;
    created.set(name, c);
    data.push({ id: name, object: 'model', created: c, owned_by: 'ccproxy' });
  }
  return { object: 'list', data };
}

/**
 * `GET /v1/models/{id}` in OpenAI's shape: an entry of the list, or, for a name only a prefix or
 * regex rule maps, an entry made for it the same way (chat completions would accept the name).
 */
export function findOpenAIModel(
  models: readonly ModelInfo[],
  rules: readonly ModelRule[],
  id: string,
): OpenAIModel | undefined {
  const listed = renderOpenAIModels(models, rules).data.find((m) => m.id === id);
  if (listed) return listed;
  const target = resolveModel(id, rules);
  // A Claude alias (`claude-sonnet-4-5`) is a model too, as chat completions would take it.
  const model = findModel(models, target);
  if (target === id && !model) return undefined;
  return {
    id,
    object: 'model',
    created: model ? seconds(model.created_at) : 0,
    owned_by: target === id ? 'anthropic' : 'ccproxy',
  };
}
