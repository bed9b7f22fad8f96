/**
 * Every setting ccproxy has, with its type, default and one-line description. Validation,
 * `ccproxy config show|init` and docs/configuration.md are all generated from this one schema.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { blockedPortReason } from '../blocked-ports.ts';

const home = os.homedir();
const xdgConfig = process.env.XDG_CONFIG_HOME || path.join(home, '.config');
const xdgData = process.env.XDG_DATA_HOME || path.join(home, '.local', 'share');

/** Keys whose values are secrets: masked in `config show`, never logged. */
export const SECRET_KEYS = new Set(['security.auth_token']);

/** URLs that may carry a password: shown and logged with the password masked, the rest readable. */
export const SECRET_URL_KEYS = new Set(['storage.url', 'upstream.proxy_url']);

/**
 * The mark of a protected key, or of a whole group (`.meta(PROTECTED)`): one that can send the
 * subscription's credentials elsewhere, run another program, or widen what the proxy or its agent
 * may do. A protected key is read from the user's own settings file, the environment and flags, but
 * from a working directory's `ccproxy.toml`, `.ccproxy.toml` or `.env` only when the user trusts that
 * folder (security.trusted_folders, --trust-project): starting ccproxy inside a cloned repository
 * must not let the repository decide where the OAuth token goes. fields.ts reads the mark
 * (`Field.protected`), src/config/load.ts applies it.
 */
export const PROTECTED = { protected: true } as const;

const seconds = (def: number, description: string) => z.number().min(0).default(def).describe(description);
const flag = (def: boolean, description: string) => z.boolean().default(def).describe(description);
const text = (def: string, description: string) => z.string().default(def).describe(description);
const list = (def: string[], description: string) => z.array(z.string()).default(def).describe(description);

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const modelRuleSchema = z
  .object({
    match: z.enum(['exact', 'prefix', 'regex']).default('exact'),
    pattern: z.string().min(1),
    model: z.string().min(1),
  })
  .superRefine((rule, ctx) => {
    if (rule.match !== 'regex') return;
    try {
      new RegExp(rule.pattern);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        path: ['pattern'],
        message: `not a valid regular expression (${(err as Error).message})`,
      });
    }
  });
export type ModelRule = z.infer<typeof modelRuleSchema>;

const priceSchema = z.object({
  input: z.number().min(0),
  output: z.number().min(0),
  cache_write_5m: z.number().min(0).optional(),
  cache_write_1h: z.number().min(0).optional(),
  cache_read: z.number().min(0).optional(),
});

/** An account's name: a label in metrics, the access log and the CLI, so short and plain. */
export const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The three ways an account holds its credential; exactly one per account. */
export const CREDENTIAL_KEYS = ['oauth_token', 'credentials_file', 'api_key'] as const;

export const accountSchema = z
  .object({
    name: z
      .string()
      .regex(
        ACCOUNT_NAME,
        'a name of letters, digits, `_`, `.` and `-` (at most 64), starting with a letter or digit',
      ),
    oauth_token: z.string().optional(),
    credentials_file: z.string().optional(),
    api_key: z.string().optional(),
    priority: z.number().int().default(0),
    enabled: z.boolean().default(true),
  })
  .strict();
export type AccountSettings = z.infer<typeof accountSchema>;

/** Names unique, exactly one credential each: the list's own rules (the environment's are checked at start). */
const accountList = z.array(accountSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((a, i) => {
    if (seen.has(a.name))
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `two accounts are named "${a.name}"` });
    seen.add(a.name);
    const given = CREDENTIAL_KEYS.filter((k) => a[k] !== undefined);
    if (given.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: [i],
        message: `account "${a.name}" ${given.length === 0 ? 'has no credential' : `has ${given.join(' and ')}`}: give exactly one of oauth_token, credentials_file or api_key`,
      });
  });
});

/** A port clients (a browser, a fetch-based SDK) connect to: 0–65535, not one fetch blocks. */
const clientPort = (fallback: number, description: string) =>
  z
    .number()
    .int()
    .min(0)
    .max(65535)
    .superRefine((port, ctx) => {
      const reason = blockedPortReason(port);
      if (reason) ctx.addIssue({ code: 'custom', message: reason });
    })
    .default(fallback)
    .describe(description);

export const settingsSchema = z.object({
  server: z
    .object({
      host: text('127.0.0.1', 'Address to bind. Anything but loopback requires security.auth_token.').meta(
        PROTECTED,
      ),
      port: clientPort(8000, 'TCP port to listen on (0 = any free port).'),
      log_level: z
        .enum(LOG_LEVELS)
        .default('info')
        .describe('Log level: fatal, error, warn, info, debug, trace or silent.'),
      log_format: z
        .enum(['pretty', 'json'])
        .default('pretty')
        .describe('Log lines as readable text or as JSON (one object per line).'),
      max_body_bytes: z
        .number()
        .int()
        .positive()
        .default(32 * 1024 * 1024)
        .describe("Largest request body accepted (the Anthropic API's own limit); larger ones get 413."),
      body_timeout_s: seconds(
        60,
        'Time a client has to send a whole request, headers and body (0 = no limit); slower ones get 408. Answers are not limited by it.',
      ),
      max_connections: z
        .number()
        .int()
        .positive()
        .default(2048)
        .describe('Most client connections open at once; more are refused until some close.'),
      max_connections_per_client: z
        .number()
        .int()
        .min(0)
        .default(256)
        .describe('Most connections open at once from one non-loopback address (0 = no cap).'),
      allowed_hosts: list(
        [],
        'Extra Host header values accepted besides the bound address and localhost (DNS-rebinding defence).',
      ).meta(PROTECTED),
      shutdown_grace_s: seconds(
        15,
        'On SIGTERM/SIGINT/SIGHUP, how long in-flight requests may finish before they are aborted.',
      ),
      idle_gc_s: seconds(
        30,
        'After this long with no request in flight, one full garbage collection hands memory back to the system (an idle process allocates nothing, so none comes on its own). 0 = never.',
      ),
      young_generation_mb: z
        .number()
        .min(0)
        .default(16)
        .describe(
          "The most V8's young generation may take, in MB (V8 grows it by doubling, up to 32 MB). A burst's short-lived garbage fills it: at 16 a burst of 1,000 streams peaks ~40–55 MB lower, for young collections twice as often under sustained load (5–17% more CPU at saturation). 0 = V8's own; node's --max-semi-space-size, when given, wins.",
        ),
      old_generation_growth_percent: z
        .number()
        .int()
        .min(0)
        .max(1000)
        .default(50)
        .describe(
          "How far V8's old generation may grow past what the last full collection kept before it collects again, in percent. A burst's streams live long enough to reach it: at 50, back-to-back bursts of 1,000 streams level off at ~150 MB where V8's own step (up to 300%) climbs to ~250, for ~4% more CPU a stream under sustained load. 0 = V8's own; node's --heap-growing-percent, when given, wins.",
        ),
    })
    .prefault({})
    .describe('The HTTP server.'),

  upstream: z
    .object({
      base_url: text(
        'https://api.anthropic.com',
        'The Anthropic API that API mode forwards to; when set, also the one SDK mode agents call (their ANTHROPIC_BASE_URL).',
      ).meta(PROTECTED),
      anthropic_version: text('2023-06-01', 'anthropic-version sent when the client sends none.'),
      timeouts: z
        .object({
          connect_s: seconds(
            10,
            'Time allowed to open a connection to the upstream, through the proxy when there is one (0 = no limit).',
          ),
          first_byte_s: seconds(
            600,
            'Time allowed until the upstream sends response headers (0 = no limit).',
          ),
          idle_s: seconds(
            300,
            'Longest silence allowed between two chunks of an upstream response (0 = no limit).',
          ),
          total_s: seconds(3600, 'Longest a whole upstream request may take (0 = no limit).'),
        })
        .prefault({})
        .describe('Upstream timeouts.'),
      proxy_url: text(
        '',
        'HTTP(S) proxy for calls to the upstream and the OAuth endpoints, and the proxy of SDK mode agents (their HTTPS_PROXY / HTTP_PROXY); empty = HTTPS_PROXY / HTTP_PROXY from the environment (NO_PROXY honoured).',
      )
        .refine((v) => v === '' || URL.canParse(v), 'expected a URL such as http://proxy.example:3128')
        .meta(PROTECTED),
      pool: z
        .object({
          connections: z
            .number()
            .int()
            .positive()
            .default(2048)
            .describe(
              'Most connections to the upstream at once. A stream holds one for as long as it lasts, so requests beyond this wait for a stream to end (upstream.max_concurrency is the limit that answers 429 instead).',
            ),
          keep_alive_s: seconds(30, 'How long an idle upstream connection is kept open.'),
        })
        .prefault({})
        .describe('The upstream connection pool.'),
      retry: z
        .object({
          max_attempts: z
            .number()
            .int()
            .min(1)
            .max(10)
            .default(3)
            .describe('Attempts per request, the first included (1 = never retry).'),
          max_wait_s: seconds(30, 'Most total time spent waiting between attempts.'),
          base_delay_ms: z
            .number()
            .int()
            .min(0)
            .default(500)
            .describe('First backoff delay; doubles each attempt, with jitter.'),
        })
        .prefault({})
        .describe('Retries before anything was sent to the client.'),
      max_concurrency: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe('Most upstream requests in flight at once (0 = no limit).'),
      queue_timeout_s: seconds(
        30,
        'With max_concurrency, how long a request may wait for a slot before a 429.',
      ),
      models_cache_s: seconds(3600, "How long the upstream's model list is cached."),
    })
    .prefault({})
    .describe('The Anthropic API (API mode).'),

  claude: z
    .object({
      system_prompt_injection: z
        .enum(['auto', 'always', 'never'])
        .default('auto')
        .describe(
          "API mode: prepend Claude Code's identity to system prompts (auto = only when the client is not Claude Code).",
        ),
      user_agent: text(
        'claude-cli/2.1.332 (external, cli)',
        'user-agent sent upstream when the client sends no claude-cli one.',
      ),
      x_app: text('cli', 'x-app header sent upstream when the client sends none.'),
      cli_path: text(
        '',
        'Claude Code binary for SDK mode (empty = the one bundled with the Agent SDK).',
      ).meta(PROTECTED),
      model: text(
        '',
        'SDK mode: model for requests that name none a mapping resolves (empty = Claude Code default).',
      ),
      max_turns: z.number().int().min(1).default(10).describe('SDK mode: most agent turns per request.'),
      permission_mode: z
        .enum(['default', 'acceptEdits', 'bypassPermissions', 'plan', 'dontAsk', 'auto'])
        .default('default')
        .describe("SDK mode: Claude Code's permission mode for its own tools.")
        .meta(PROTECTED),
      allowed_tools: list([], 'SDK mode: Claude Code tools allowed without asking (e.g. Read, Grep).').meta(
        PROTECTED,
      ),
      disallowed_tools: list([], 'SDK mode: Claude Code tools the agent may not use.').meta(PROTECTED),
      cwd: text(
        '',
        "SDK mode: the agent's working directory, what it may read without asking (empty = an empty folder ccproxy owns: <data dir>/ccproxy/agent-home).",
      ).meta(PROTECTED),
      allow_broad_cwd: flag(
        false,
        'SDK mode: accept a claude.cwd that is /, your home folder (or above it) or holds a credentials file; every SDK client could then read it.',
      ).meta(PROTECTED),
      max_thinking_tokens: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe('SDK mode: thinking budget (0 = Claude Code default).'),
      mcp_servers: z
        .record(z.string(), z.unknown())
        .default({})
        .describe('SDK mode: extra MCP servers, as in Claude Code settings (JSON in env).')
        .meta(PROTECTED),
      setting_sources: z
        .array(z.enum(['user', 'project', 'local']))
        .default(['user', 'project', 'local'])
        .describe('SDK mode: which Claude Code settings files apply.')
        .meta(PROTECTED),
      system_prompt_mode: z
        .enum(['append', 'replace'])
        .default('append')
        .describe("SDK mode: the request's system prompt is appended to Claude Code's, or replaces it."),
      tool_display: z
        .enum(['text', 'hidden'])
        .default('text')
        .describe("SDK mode: show the agent's own tool activity as text in the answer, or hide it."),
      timeout_s: seconds(600, 'SDK mode: longest an agent run may take before a 504.'),
      api_retry_max_s: seconds(
        30,
        'SDK mode: how long the agent may keep retrying failing API calls (no connection, 5xx, 529, 429) before ccproxy stops it and answers with the error (0 = leave it to Claude Code, about 3 minutes).',
      ),
      pool_size: z
        .number()
        .int()
        .min(0)
        .default(2)
        .describe('SDK mode: warm Claude Code processes kept ready (0 = start one per request).'),
      pool_idle_s: seconds(300, 'SDK mode: a warm process unused this long is stopped.'),
      prewarm_on_start: flag(
        false,
        'SDK mode: start the warm pool with ccproxy instead of at the first SDK request.',
      ),
      max_sessions: z
        .number()
        .int()
        .min(0)
        .default(8)
        .describe(
          'SDK mode: most agent sessions kept running between turns (the longest idle one stops first).',
        ),
      keep_conversations: flag(
        true,
        "SDK mode: keep a stateless conversation's agent running for its next turn (counts toward max_sessions).",
      ),
      client_tool_timeout_s: seconds(
        120,
        "SDK mode: how long an agent run that called a client's tool waits (holding its process) for the client to send its result.",
      ),
      max_concurrent_agents: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe(
          'SDK mode: most Claude Code processes at once, counting spares, kept sessions, runs waiting for a client tool and running turns (0 = min(4, CPU cores)).',
        )
        .meta(PROTECTED),
      queue_timeout_s: seconds(
        30,
        'SDK mode: how long a request may wait for an agent slot (claude.max_concurrent_agents) before a 429.',
      ),
      allow_request_overrides: flag(
        false,
        'SDK mode, bound beyond loopback: accept per-request tool, permission and folder overrides (the `ccproxy` field). On loopback they are always accepted, and only ever narrow the settings.',
      ).meta(PROTECTED),
    })
    .prefault({})
    .describe('Claude Code: identity in API mode, the agent in SDK mode.'),

  auth: z
    .object({
      credentials_file: text(
        path.join(xdgConfig, 'ccproxy', 'credentials.json'),
        "ccproxy's own credential store (written by `ccproxy auth login`).",
      ),
      claude_credentials_file: text(
        path.join(home, '.claude', '.credentials.json'),
        "The Claude CLI's credentials, used when ccproxy has none of its own.",
      ),
      client_id: text('9d1c250a-e61b-44d9-88ed-5944d1962f5e', 'OAuth client id.'),
      authorize_url: text('https://claude.ai/oauth/authorize', 'OAuth authorize URL (login).'),
      token_url: text('https://console.anthropic.com/v1/oauth/token', 'OAuth token URL (login and refresh).'),
      profile_url: text('https://api.anthropic.com/api/oauth/profile', 'OAuth profile URL (`auth info`).'),
      scopes: list(
        ['org:create_api_key', 'user:profile', 'user:inference'],
        'OAuth scopes requested at login.',
      ),
      callback_port: clientPort(
        54545,
        'Local port of the `ccproxy auth login` callback server (0 = any free port).',
      ),
      refresh_margin_s: seconds(300, 'Refresh the access token when less than this remains.'),
    })
    .prefault({})
    .describe('The subscription credentials.')
    .meta(PROTECTED),

  security: z
    .object({
      auth_token: text('', 'Token clients must send (x-api-key or Authorization: Bearer). Empty = no check.'),
      allow_unauthenticated: flag(false, 'Allow binding beyond loopback without an auth token.'),
      trusted_folders: z
        .array(
          z.string().refine((f) => !/^(\.{0,2})$|^\.{1,2}[/\\]/.test(f.trim()), {
            // Relative entries are read from the home directory (config/trust.ts): "." would trust it all.
            message:
              'an entry such as "." or "./x" is read from your home directory, not from where ccproxy starts ("." would trust every folder under your home): write an absolute path or ~/…',
          }),
        )
        .default([])
        .describe(
          'Working directories (and their subfolders) whose ccproxy.toml, .ccproxy.toml and .env may set protected keys; absolute or ~/ paths.',
        ),
    })
    .prefault({})
    .describe('Who may use the proxy, and which working directories are trusted.')
    .meta(PROTECTED),

  cors: z
    .object({
      origins: list([], 'Browser origins allowed to call the proxy (CORS is closed when empty).').meta(
        PROTECTED,
      ),
    })
    .prefault({})
    .describe('Cross-origin requests.'),

  openai: z
    .object({
      model_map: z
        .array(modelRuleSchema)
        .default([])
        .describe(
          'Model rules tried in order before the built-in ones: {match = "exact"|"prefix"|"regex", pattern, model}.',
        ),
      reasoning_output: z
        .enum(['reasoning_content', 'tags', 'drop'])
        .default('reasoning_content')
        .describe(
          'Where thinking goes in OpenAI answers: reasoning_content, <thinking> tags in content, or dropped.',
        ),
      default_max_tokens: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe('max_tokens when the client sends none (0 = per-model default).'),
    })
    .prefault({})
    .describe('OpenAI compatibility.'),

  observability: z
    .object({
      enabled: flag(false, 'Turn metrics, access log and dashboard all on.'),
      metrics: flag(false, 'Serve Prometheus metrics at /metrics.'),
      access_log: flag(
        false,
        'Record every request in the access log (the DuckDB file, or PostgreSQL with storage.url).',
      ),
      dashboard: flag(false, 'Serve the live dashboard at /dashboard (needs the access log).'),
      duckdb_path: text(
        path.join(xdgData, 'ccproxy', 'access-log.duckdb'),
        'The access-log DuckDB file (when storage.url is empty).',
      ).meta(PROTECTED),
      batch_size: z
        .number()
        .int()
        .positive()
        .default(2000)
        .describe(
          'Most rows per access-log write: rows are written every flush_interval_ms, or as soon as this many wait.',
        ),
      flush_interval_ms: z
        .number()
        .int()
        .positive()
        .default(1000)
        .describe('Longest a row waits before it is written.'),
      retention_days: z
        .number()
        .int()
        .min(0)
        .default(30)
        .describe('Rows older than this are pruned (0 = keep forever).'),
      capture: z
        .enum(['off', 'errors', 'all'])
        .default('off')
        .describe(
          'Keep what each request sent and got (client, upstream, answer; redacted) for trace and replay: off, errors (failed requests only) or all. Turns the access log on.',
        ),
      capture_max_bytes: z
        .number()
        .int()
        .positive()
        .default(1024 * 1024)
        .describe('Most bytes kept of each captured body; the rest is cut and the capture marked truncated.'),
      capture_days: z
        .number()
        .int()
        .min(0)
        .default(7)
        .describe('Captured requests older than this are deleted (0 = kept as long as the access log).'),
      capture_max_mb: z
        .number()
        .int()
        .positive()
        .default(512)
        .describe(
          'Most megabytes of captured bodies kept in all; beyond it the oldest captures are deleted.',
        ),
      pricing: z
        .record(z.string(), priceSchema)
        .default({})
        .describe(
          'Price overrides in USD per million tokens, by model id: {input, output, cache_write_5m, cache_write_1h, cache_read}.',
        ),
    })
    .prefault({})
    .describe('Metrics, access log and dashboard.'),

  accounts: z
    .object({
      list: accountList.default([]).describe(
        // The settings' own ${VAR} syntax (biome.json lets these files write it in plain strings).
        'Several credentials to route between: [[accounts.list]] tables of {name, oauth_token | credentials_file | api_key, priority, enabled}; ${VAR} expands from the environment (JSON in env). Empty = the one credential found as usual (docs/accounts.md).',
      ),
      strategy: z
        .enum(['priority', 'round_robin', 'least_used'])
        .default('priority')
        .describe(
          'Which account a new conversation goes to: priority (the highest, then the order written), round_robin, or least_used (lowest 5-hour utilisation).',
        ),
      spill_over: flag(
        false,
        'Use api_key accounts (billed per token) when every subscription account is cooling down; capped by limits.spill_over_daily_usd.',
      ),
    })
    .prefault({})
    .describe('Several accounts: routing, failover and spill-over (docs/accounts.md).')
    .meta(PROTECTED),

  storage: z
    .object({
      url: text(
        '',
        'PostgreSQL for the access log and the state several instances share: postgres://user:password@host:5432/db (empty = the embedded DuckDB file, one instance).',
      )
        .refine(
          (v) => v === '' || (/^postgres(ql)?:\/\//i.test(v) && URL.canParse(v)),
          'expected a postgres:// or postgresql:// URL such as postgres://ccproxy:secret@db.internal:5432/ccproxy',
        )
        .meta(PROTECTED),
      pool_size: z
        .number()
        .int()
        .positive()
        .default(10)
        .describe('Most connections this instance opens to PostgreSQL.'),
      buffer_rows: z
        .number()
        .int()
        .positive()
        .default(50_000)
        .describe(
          'Most access-log rows held in memory while the store cannot be written; beyond it the oldest are dropped.',
        ),
      flush_timeout_s: seconds(
        5,
        'At shutdown, how long to keep trying to write the rows still held in memory.',
      ),
    })
    .prefault({})
    .describe('Where the access log and shared state live.'),

  limits: z
    .object({
      block_overage: flag(
        false,
        "Refuse requests (429) instead of drawing on paid extra usage when the plan's window is exhausted.",
      ),
      spill_over_daily_usd: z
        .number()
        .min(0)
        .default(5)
        .describe(
          'Most USD that spill-over to api_key accounts may spend per day (UTC); past it, clients get the plan-limit error.',
        )
        .meta(PROTECTED),
    })
    .prefault({})
    .describe("The subscription plan's limits."),
});

export type Settings = z.infer<typeof settingsSchema>;
