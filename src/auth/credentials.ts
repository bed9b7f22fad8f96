/**
 * Where the subscription's OAuth credentials come from, first found wins:
 * 1. `CLAUDE_CODE_OAUTH_TOKEN` (a long-lived token from `claude setup-token`; never refreshed),
 * 2. ccproxy's own store (written by `ccproxy auth login`),
 * 3. the Claude CLI's `~/.claude/.credentials.json`.
 * Both files use the Claude CLI's shape, `{"claudeAiOauth": {...}}`, so either can be copied to the other.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Settings } from '../config/schema.ts';

export interface OAuthCredentials {
  accessToken: string;
  refreshToken?: string;
  /** Epoch milliseconds; undefined when unknown (env tokens). */
  expiresAt?: number;
  scopes?: string[];
  subscriptionType?: string;
}

export type CredentialSource =
  | { kind: 'env'; label: string }
  | { kind: 'ccproxy'; path: string; label: string }
  | { kind: 'claude-cli'; path: string; label: string }
  /** One account's own file (`[[accounts.list]]` with `credentials_file`). */
  | { kind: 'account'; path: string; label: string };

export interface FoundCredentials {
  source: CredentialSource;
  credentials: OAuthCredentials;
}

export interface CredentialPaths {
  credentialsFile: string;
  claudeCredentialsFile: string;
}

export const ENV_TOKEN = 'CLAUDE_CODE_OAUTH_TOKEN';

/** Read one credentials file; undefined when absent, an Error message when unreadable. */
export function readCredentialsFile(file: string): OAuthCredentials | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read credentials file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`Credentials file ${file} is not valid JSON.`);
  }
  // An object without a login is fine (Claude Code keeps other logins there); anything else is broken.
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`Credentials file ${file} does not hold a JSON object.`);
  const oauth = (doc as { claudeAiOauth?: Record<string, unknown> | null }).claudeAiOauth;
  if (!oauth || typeof oauth.accessToken !== 'string' || oauth.accessToken === '') return undefined;
  return {
    accessToken: oauth.accessToken,
    refreshToken: typeof oauth.refreshToken === 'string' ? oauth.refreshToken : undefined,
    expiresAt: typeof oauth.expiresAt === 'number' ? oauth.expiresAt : undefined,
    scopes: Array.isArray(oauth.scopes)
      ? oauth.scopes.filter((s): s is string => typeof s === 'string')
      : undefined,
    subscriptionType: typeof oauth.subscriptionType === 'string' ? oauth.subscriptionType : undefined,
  };
}

/** The two credential files, in the order they are tried. */
function fileSources(paths: CredentialPaths): Array<Extract<CredentialSource, { path: string }>> {
  return [
    {
      kind: 'ccproxy',
      path: paths.credentialsFile,
      label: `ccproxy credentials (${paths.credentialsFile})`,
    },
    {
      kind: 'claude-cli',
      path: paths.claudeCredentialsFile,
      label: `Claude CLI credentials (${paths.claudeCredentialsFile})`,
    },
  ];
}

/**
 * The sources that hold credentials, in the documented order, read lazily: a caller that stops at
 * the first never reads (nor warns about) the ones after it.
 */
function* sources(
  paths: CredentialPaths,
  env: Record<string, string | undefined>,
  onProblem: (msg: string) => void,
): Generator<FoundCredentials> {
  const envToken = env[ENV_TOKEN]?.trim();
  if (envToken)
    yield {
      source: { kind: 'env', label: `environment variable ${ENV_TOKEN}` },
      credentials: { accessToken: envToken },
    };
  for (const source of fileSources(paths)) {
    try {
      const credentials = readCredentialsFile(source.path);
      if (credentials) yield { source, credentials };
    } catch (err) {
      onProblem((err as Error).message);
    }
  }
}

/** Find credentials in the documented order. Unreadable files are reported through `onProblem` and skipped. */
export function findCredentials(
  paths: CredentialPaths,
  env: Record<string, string | undefined>,
  onProblem: (msg: string) => void = () => {},
): FoundCredentials | undefined {
  for (const found of sources(paths, env, onProblem)) return found;
  return undefined;
}

/** Every source that holds credentials, in order: the first is the one in use, the others are shadowed. */
export function allCredentials(
  paths: CredentialPaths,
  env: Record<string, string | undefined>,
  onProblem: (msg: string) => void = () => {},
): FoundCredentials[] {
  return [...sources(paths, env, onProblem)];
}

/** The credential files a Settings names, as absolute paths. */
export function credentialPaths(settings: Settings): CredentialPaths {
  return {
    credentialsFile: path.resolve(settings.auth.credentials_file),
    claudeCredentialsFile: path.resolve(settings.auth.claude_credentials_file),
  };
}

/** Whether a file holds a login to remove: readable credentials, or a file that cannot be read as such. */
export function holdsLogin(file: string): boolean {
  try {
    return readCredentialsFile(file) !== undefined;
  } catch {
    return fs.existsSync(file);
  }
}

/**
 * Log a file out: drop its `claudeAiOauth` and keep the rest (the Claude CLI keeps other settings
 * and MCP logins there); a file left empty, or not JSON, goes.
 */
export function removeLogin(file: string): void {
  let doc: Record<string, unknown> = {};
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    fs.rmSync(file, { force: true });
    return;
  }
  delete doc.claudeAiOauth;
  if (Object.keys(doc).length === 0) fs.rmSync(file, { force: true });
  else writeSecretFile(file, `${JSON.stringify(doc, null, 2)}\n`);
}

/**
 * Write credentials back to their file atomically (temp file + rename), mode 0600, keeping any
 * other keys the file holds (the Claude CLI stores more than OAuth tokens there).
 */
export function writeCredentialsFile(
  file: string,
  creds: OAuthCredentials,
  opts: {
    /** A new login: drop the old entry's fields instead of keeping the ones `creds` lacks. */ replace?: boolean;
  } = {},
): void {
  let doc: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (parsed && typeof parsed === 'object') doc = parsed;
  } catch {
    // absent or unreadable: start fresh
  }
  const previous = opts.replace ? {} : ((doc.claudeAiOauth as Record<string, unknown> | undefined) ?? {});
  doc.claudeAiOauth = {
    ...previous,
    accessToken: creds.accessToken,
    refreshToken: creds.refreshToken,
    expiresAt: creds.expiresAt,
    scopes: creds.scopes ?? previous.scopes,
    subscriptionType: creds.subscriptionType ?? previous.subscriptionType,
  };
  writeSecretFile(file, `${JSON.stringify(doc, null, 2)}\n`);
}

/** Atomically write a file only its owner can read. */
export function writeSecretFile(file: string, contents: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, contents, { mode: 0o600 });
    fs.chmodSync(tmp, 0o600); // umask may have narrowed it, never widened; be explicit anyway
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
