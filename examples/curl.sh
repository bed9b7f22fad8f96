#!/usr/bin/env bash
# ccproxy with curl: Anthropic and OpenAI shapes, streamed and not. Start the proxy first (npm start).
# Usage: examples/curl.sh [--api-only]   (--api-only skips the SDK-mode call, which needs Claude Code)
# With security.auth_token set, add -H "x-api-key: $TOKEN". Keep the content-type header: ccproxy takes
# JSON only, and curl -d alone sends a form type (answered 415).
set -euo pipefail
BASE=${CCPROXY_URL:-http://127.0.0.1:8000}

echo '--- Anthropic Messages (API mode)'
curl -sS "$BASE/api/v1/messages" -H 'content-type: application/json' \
  -d '{"model":"claude-sonnet-5-5","max_tokens":128,"messages":[{"role":"user","content":"Say hi"}]}'
echo

echo '--- Anthropic Messages, streamed'
curl -sSN "$BASE/api/v1/messages" -H 'content-type: application/json' \
  -d '{"model":"claude-sonnet-5-5","max_tokens":128,"stream":true,"messages":[{"role":"user","content":"Say hi"}]}'

echo '--- OpenAI Chat Completions'
curl -sS "$BASE/api/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"gpt-4o","messages":[{"role":"user","content":"Say hi"}]}'
echo

if [ "${1:-}" != --api-only ]; then
  echo '--- Answered by Claude Code (SDK mode)'
  curl -sS "$BASE/sdk/v1/messages" -H 'content-type: application/json' \
    -d '{"model":"sonnet","max_tokens":512,"messages":[{"role":"user","content":"What files are in the current directory?"}]}'
  echo
fi

echo '--- Health and status'
curl -sS "$BASE/health"; echo
curl -sS "$BASE/api/status"; echo
