/**
 * One SDK-mode request, start to end: the request's overrides (which may only narrow the settings)
 * and options, the agent that answers it (choose.ts), its turn as the client's reply (turn.ts; the
 * agent then goes where after-turn.ts says), and the header naming tools the settings left out.
 */
import type { MessagesRequest } from '../../formats/anthropic/types.ts';
import { formatAsAnswerTool } from '../../formats/structured-output.ts';
import type { Reply, RequestContext } from '../backend.ts';
import { AfterTurn } from './after-turn.ts';
import { AgentChooser, type ChooserDeps } from './choose.ts';
import type { LentLogin } from './login.ts';
import { type RunConfig, runConfig } from './options.ts';
import { overridePolicy, validateSdkOverrides } from './overrides.ts';
import { planPrompt } from './prompt.ts';
import { type TurnDeps, TurnRunner } from './turn.ts';
import { type AgentWorkdir, ensureAgentHome } from './workdir.ts';

export interface RunnerDeps extends Omit<ChooserDeps, 'after'>, Omit<TurnDeps, 'after'> {
  /** Where agents work when the request names no folder. */
  workdir: AgentWorkdir;
}

/** The client's overrides: ctx.extras (the `ccproxy` object), else the body's own `ccproxy`. */
export function overridesOf(ctx: Pick<RequestContext, 'extras'>, request: MessagesRequest): unknown {
  const extras = ctx.extras;
  if (extras && Object.keys(extras).length === 1 && 'ccproxy' in extras) return extras.ccproxy;
  if (extras && Object.keys(extras).length > 0) return extras;
  return request.ccproxy;
}

export class SdkRunner {
  private readonly d: RunnerDeps;
  private readonly chooser: AgentChooser;
  private readonly turns: TurnRunner;

  constructor(deps: RunnerDeps) {
    this.d = deps;
    const after = new AfterTurn(deps);
    this.chooser = new AgentChooser({ ...deps, after });
    this.turns = new TurnRunner({ ...deps, after });
  }

  async send(request: MessagesRequest, ctx: RequestContext, login?: LentLogin): Promise<Reply> {
    const { settings, pool, workdir } = this.d;
    const overrides = validateSdkOverrides(overridesOf(ctx, request), overridePolicy(settings));
    // Claude Code takes no output format per turn: a JSON schema becomes the answer tool.
    const answerTool = formatAsAnswerTool(request);
    const plan = planPrompt(request);
    if (workdir.isDefault) ensureAgentHome(workdir.dir);
    const cfg = runConfig(settings, overrides, request, plan.system, workdir.dir);
    cfg.login = login;
    cfg.answerTool = answerTool;
    if (cfg.droppedTools.length > 0) {
      ctx.log.warn(
        { dropped: cfg.droppedTools },
        'sdk: ccproxy.allowed_tools names tools claude.allowed_tools does not allow; left out',
      );
    }
    if (settings.claude.pool_size > 0) pool.spares.activate();
    const chosen = await this.chooser.choose(request, plan, cfg, ctx);
    const reply = await this.turns.respond({ ...chosen, cfg, ctx, stream: request.stream === true });
    return droppedHeader(reply, cfg);
  }
}

/** Name the tools the settings kept the request from allowing (`x-ccproxy-dropped-tools`). */
function droppedHeader(reply: Reply, cfg: RunConfig): Reply {
  if (cfg.droppedTools.length === 0 || reply.type === 'raw') return reply;
  // Header-safe: printable ASCII only, each other character percent-encoded; bounded.
  const value = cfg.droppedTools
    .map((t) => t.replace(/[^\x20-\x7e]|%/g, (c) => encodeURIComponent(c)))
    .join(', ')
    .slice(0, 2048);
  return { ...reply, headers: { ...reply.headers, 'x-ccproxy-dropped-tools': value } };
}
