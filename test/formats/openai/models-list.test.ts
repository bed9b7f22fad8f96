import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ADVERTISED_OPENAI_MODELS,
  BUILTIN_MODELS,
  modelRules,
  resolveModel,
} from '../../../src/formats/models.ts';
import { renderOpenAIModels } from '../../../src/formats/openai/models-list.ts';

describe('openai models list', () => {
  it('lists Claude models, then aliases and OpenAI names with their target’s created', () => {
    const rules = modelRules([{ match: 'exact', pattern: 'team-default', model: 'claude-opus-4-6' }]);
    const list = renderOpenAIModels(BUILTIN_MODELS, rules);
    assert.equal(list.object, 'list');
    const ids = list.data.map((m) => m.id);
    assert.deepEqual(
      ids.slice(0, BUILTIN_MODELS.length),
      BUILTIN_MODELS.map((m) => m.id),
    );
    for (const name of ['team-default', 'opus', 'sonnet', 'haiku', ...ADVERTISED_OPENAI_MODELS]) {
      assert.ok(ids.includes(name), `${name} listed`);
    }
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    for (const m of list.data) {
      assert.deepEqual(Object.keys(m), ['id', 'object', 'created', 'owned_by']);
      assert.equal(m.object, 'model');
      assert.ok(Number.isInteger(m.created) && m.created > 0, `${m.id} created`);
    }
    const gpt4o = list.data.find((m) => m.id === 'gpt-4o');
    const target = list.data.find((m) => m.id === resolveModel('gpt-4o', rules));
    assert.equal(gpt4o?.created, target?.created);
    assert.equal(
      list.data.find((m) => m.id === 'claude-sonnet-4-5')?.created,
      Date.parse('2025-09-29T00:00:00Z') / 1000,
    );
  });

  it('leaves out names no rule maps', () => {
    const list = renderOpenAIModels(BUILTIN_MODELS.slice(0, 1), []);
    assert.deepEqual(
      list.data.map((m) => m.id),
      [BUILTIN_MODELS[0].id],
    );
  });
});
