/**
 * Earlier turns of a stateless conversation, written as a Claude Code session transcript so the
 * agent resumes it and sees them as real user and assistant turns (not pasted into one prompt).
 *
 * Claude Code keeps a session at `<config dir>/projects/<sanitized cwd>/<session id>.jsonl`, one
 * JSON entry per line, chained by `parentUuid`. Only user and assistant entries are written; on
 * resume Claude Code adds its own context (environment, date…) as it does for any session.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Turn } from './prompt.ts';

/** Claude Code's config folder for an agent environment: CLAUDE_CONFIG_DIR, else ~/.claude. */
export function claudeConfigDir(env: Record<string, string | undefined>): string {
  const dir = env.CLAUDE_CONFIG_DIR?.trim();
  if (dir) return dir;
  const home = env.HOME || env.USERPROFILE || '';
  return path.join(home, '.claude');
}

const MAX_PROJECT_KEY = 200;

/** Java-style string hash, as Claude Code uses for long project paths. */
function stringHash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = ((h << 5) - h + text.charCodeAt(i)) | 0;
  return h;
}

/** The folder name Claude Code gives a working directory under `projects/`. */
export function projectKey(cwd: string): string {
  const key = cwd.replace(/[^a-zA-Z0-9]/g, '-');
  if (key.length <= MAX_PROJECT_KEY) return key;
  return `${key.slice(0, MAX_PROJECT_KEY)}-${Math.abs(stringHash(cwd)).toString(36)}`;
}

export function transcriptPath(
  env: Record<string, string | undefined>,
  cwd: string,
  sessionId: string,
): string {
  return path.join(claudeConfigDir(env), 'projects', projectKey(cwd), `${sessionId}.jsonl`);
}

export interface TranscriptOptions {
  sessionId: string;
  /** The agent's working directory, canonical (realpath). */
  cwd: string;
  model: string;
  /** Claude Code's version, when known. */
  version?: string;
  /** Client tool name → the name the agent knows it by. */
  toolName?: (name: string) => string;
  now?: Date;
}

/**
 * The transcript entries for earlier turns. After the first user turn comes a `date` attachment, as
 * in every session Claude Code writes itself: without any context there, Claude Code renders an
 * empty `system` message at that place on resume, which the API refuses.
 */
export function transcriptEntries(history: Turn[], o: TranscriptOptions): Record<string, unknown>[] {
  const now = o.now ?? new Date();
  const timestamp = now.toISOString();
  let parentUuid: string | null = null;
  let n = 0;
  const out: Record<string, unknown>[] = [];
  for (const turn of history) {
    out.push(entry(turn));
    if (out.length === 1 && turn.role === 'user') out.push(dateNote());
  }
  return out;

  function dateNote(): Record<string, unknown> {
    const uuid = randomUUID();
    const date = timestamp.slice(0, 10);
    const note = {
      parentUuid,
      isSidechain: false,
      attachment: { type: 'date', date },
      type: 'attachment',
      uuid,
      timestamp,
      rendered: [{ content: `<system-reminder>\nToday's date is ${date}.\n</system-reminder>` }],
      renderedRole: 'system',
      userType: 'external',
      cwd: o.cwd,
      sessionId: o.sessionId,
      ...(o.version ? { version: o.version } : {}),
    };
    parentUuid = uuid;
    return note;
  }

  function entry(turn: Turn): Record<string, unknown> {
    const uuid = randomUUID();
    const common = {
      parentUuid,
      isSidechain: false,
      userType: 'external',
      cwd: o.cwd,
      sessionId: o.sessionId,
      ...(o.version ? { version: o.version } : {}),
      uuid,
      timestamp,
    };
    parentUuid = uuid;
    if (turn.role === 'user') {
      return { ...common, type: 'user', message: { role: 'user', content: turn.content } };
    }
    const content = turn.content.map((b) =>
      b.type === 'tool_use' && o.toolName ? { ...b, name: o.toolName(String(b.name)) } : b,
    );
    n++;
    return {
      ...common,
      type: 'assistant',
      message: {
        id: `msg_ccproxy_history_${n}`,
        type: 'message',
        role: 'assistant',
        model: o.model,
        content,
        stop_reason: content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    };
  }
}

/** Write a transcript (mode 0600: conversations are private). */
export async function writeTranscript(file: string, entries: Record<string, unknown>[]): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const body = entries.map((e) => JSON.stringify(e)).join('\n');
  await fs.writeFile(file, `${body}\n`, { mode: 0o600, flag: 'wx' });
}

/** Remove a session's transcript and its side folder (stateless runs keep nothing). */
export async function removeTranscript(
  file: string,
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  await fs.rm(file, { force: true });
  await fs.rm(file.replace(/\.jsonl$/, ''), { recursive: true, force: true });
  const scratch = sessionScratchDir(file, env);
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
}

/**
 * What Claude Code keeps of a session in its temp folder, `<tmp>/claude-<uid>/<project>/<session>`
 * (the client's images among it, saved to pass them on): gone with a stateless transcript.
 */
export function sessionScratchDir(file: string, env: Record<string, string | undefined>): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const project = path.basename(path.dirname(file));
  const session = path.basename(file, '.jsonl');
  if (!project || !session) return undefined;
  return path.join(env.TMPDIR || os.tmpdir(), `claude-${uid}`, project, session);
}

export async function transcriptExists(file: string): Promise<boolean> {
  try {
    const st = await fs.stat(file);
    return st.size > 0;
  } catch {
    return false;
  }
}
