# syntax=docker/dockerfile:1
# ccproxy in a container (docs/install.md#container):
#   docker build -t ccproxy .
#   docker run -d -p 127.0.0.1:8000:8000 -v ccproxy-data:/data -e SECURITY__AUTH_TOKEN=ccp_… ccproxy
# Debian slim rather than Alpine: the DuckDB binding (the access log) and the Claude Code binary
# (SDK mode) are built for glibc first.
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. dist/ (TypeScript and the dashboard), built with every dependency.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; no dependency needs a script.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-dashboard.mjs ./scripts/
COPY src ./src
RUN npm run build

# 2. What ccproxy runs with: the locked dependencies, none for development.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# 3. The image: node, ccproxy and its dependencies; everything it writes in the /data volume.
FROM ${NODE_IMAGE}
# MALLOC_*: memory freed after a load goes back to the system (src/cli/self.ts: BACKGROUND_ENV).
ENV NODE_ENV=production \
    HOME=/data \
    XDG_CONFIG_HOME=/data/config \
    XDG_DATA_HOME=/data/share \
    XDG_STATE_HOME=/data/state \
    SERVER__HOST=0.0.0.0 \
    SERVER__PORT=8000 \
    SERVER__LOG_FORMAT=json \
    MALLOC_TRIM_THRESHOLD_=524288 \
    MALLOC_MMAP_THRESHOLD_=524288
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY docker ./docker
# The volume's mount point, owned by the user ccproxy runs as (a new named volume inherits it).
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
USER node
# Credentials (config/ccproxy/credentials.json, .claude/), settings (config/ccproxy/config.toml),
# the access log (share/ccproxy/access-log.duckdb) and, read at start, /data/.env.
VOLUME ["/data"]
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/docker/healthcheck.mjs"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["serve"]
