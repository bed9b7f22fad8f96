#!/usr/bin/env bash
# aider on your subscription through ccproxy. Anthropic side (recommended: caching, thinking):
export ANTHROPIC_BASE_URL=${CCPROXY_URL:-http://127.0.0.1:8000}/api
export ANTHROPIC_API_KEY=${CCPROXY_TOKEN:-dummy}
exec aider --model anthropic/claude-sonnet-5-5 "$@"
# Or the OpenAI side, with any OpenAI model name ccproxy maps (see docs/openai.md):
#   OPENAI_API_BASE=http://127.0.0.1:8000/api/v1 OPENAI_API_KEY=dummy aider --model openai/o3-mini
