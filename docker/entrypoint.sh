#!/bin/sh
# The container's entrypoint: `ccproxy serve` (or the ccproxy command given), after two checks that
# say in container terms what would otherwise fail less clearly:
# - the data volume ($HOME, /data in the image) must be writable by the user ccproxy runs as;
# - the container listens on 0.0.0.0, so that a published port reaches it, and ccproxy allows that
#   only with a token: SECURITY__AUTH_TOKEN, or security.auth_token in a settings file (which
#   ccproxy itself then checks).
# Runs outside a container too (the tests do): ccproxy is found next to this script.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
ccproxy="$here/../bin/ccproxy.js"

# No arguments, or options only (`docker run … ccproxy --port 9000`): serve.
case "${1:-}" in
  '') set -- serve ;;
  -V | --version | -h | --help) ;;
  -*) set -- serve "$@" ;;
esac

if [ "$1" = serve ]; then
  if [ ! -w "$HOME" ]; then
    echo "ccproxy: the data directory $HOME is not writable by uid $(id -u), which ccproxy runs as." >&2
    echo "  For a bind mount, give it to that user: chown -R $(id -u):$(id -g) <host directory>" >&2
    exit 1
  fi

  host=${SERVER__HOST:-127.0.0.1}
  settings=${XDG_CONFIG_HOME:-$HOME/.config}/ccproxy/config.toml
  allowed=${SECURITY__ALLOW_UNAUTHENTICATED:-false}
  prev=''
  for arg in "$@"; do
    case "$prev" in
      --host) host=$arg ;;
      -c | --config) settings=$arg ;;
    esac
    case "$arg" in
      --host=*) host=${arg#--host=} ;;
      --config=*) settings=${arg#--config=} ;;
      --allow-unauthenticated) allowed=true ;;
    esac
    prev=$arg
  done

  case "$host" in
    127.* | localhost | ::1 | '[::1]') loopback=yes ;;
    *) loopback=no ;;
  esac
  case "$allowed" in
    1 | true | yes | on) allowed=yes ;;
  esac
  # A token in the working directory's .env counts too (ccproxy reads it; /data is its home, trusted).
  dotenv_token=no
  if [ -f .env ] && grep -Eq '^[[:space:]]*(export[[:space:]]+)?SECURITY__AUTH_TOKEN[[:space:]]*=[[:space:]]*["'"'"']?[^[:space:]"'"'"'#]' .env; then
    dotenv_token=yes
  fi
  if [ "$loopback" = no ] && [ -z "${SECURITY__AUTH_TOKEN:-}" ] && [ "$dotenv_token" = no ] && [ "$allowed" != yes ] && [ ! -f "$settings" ]; then
    cat >&2 <<MSG
ccproxy: refusing to start without a token. The container listens on $host so that its published
port reaches it, and anyone who can reach that port could use your Claude subscription.
Give it a token (clients then send it as their API key):
  docker run --rm ccproxy generate-token              # prints SECURITY__AUTH_TOKEN=ccp_…
  docker run -e SECURITY__AUTH_TOKEN=ccp_… …          # or, with compose, CCPROXY_AUTH_TOKEN=ccp_… in .env
or put security.auth_token in $settings (in the data volume).
MSG
    exit 2
  fi
fi

# A smaller young generation bounds the peak of a burst (src/cli/self.ts: BACKGROUND_NODE_FLAGS),
# unless NODE_OPTIONS sizes it already.
case " ${NODE_OPTIONS:-} " in
  *--max-semi-space-size*) exec node "$ccproxy" "$@" ;;
  *) exec node --max-semi-space-size=4 "$ccproxy" "$@" ;;
esac
