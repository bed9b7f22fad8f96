/**
 * Refresh tokens the OAuth server has rejected (`invalid_grant`), remembered on disk so that every
 * ccproxy process — the running proxy, `ccproxy auth info`, a restart — says "re-login required"
 * without trying the dead token again. Only SHA-256 digests are stored, never the tokens. A new
 * login (or `claude /login`) brings a new refresh token, which is not in the list, so the state
 * clears by itself.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeSecretFile } from './credentials.ts';

const FILE_NAME = 'dead-refresh-tokens.json';
/** Enough for every token a person could plausibly have; the oldest are forgotten first. */
const KEEP = 20;

/** The list lives next to ccproxy's own credential store. */
export function deadTokensFile(credentialsFile: string): string {
  return path.join(path.dirname(credentialsFile), FILE_NAME);
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

function read(file: string): string[] {
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { sha256?: unknown };
    return Array.isArray(doc.sha256) ? doc.sha256.filter((s): s is string => typeof s === 'string') : [];
  } catch {
    return [];
  }
}

export function isRefreshTokenDead(file: string, refreshToken: string | undefined): boolean {
  return refreshToken !== undefined && read(file).includes(digest(refreshToken));
}

export function markRefreshTokenDead(file: string, refreshToken: string): void {
  const d = digest(refreshToken);
  const list = read(file).filter((x) => x !== d);
  list.push(d);
  writeSecretFile(file, `${JSON.stringify({ sha256: list.slice(-KEEP) }, null, 2)}\n`);
}
