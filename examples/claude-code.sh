#!/usr/bin/env bash
# Claude Code on your subscription through ccproxy's API mode. Useful when Claude Code runs where
# your login is not (a container, CI, another user): only ccproxy needs the credentials.
export ANTHROPIC_BASE_URL=${CCPROXY_URL:-http://127.0.0.1:8000}/api
export ANTHROPIC_API_KEY=${CCPROXY_TOKEN:-dummy}   # the proxy's token if security.auth_token is set
exec claude "$@"                                   # e.g. ./examples/claude-code.sh -p "hello"
