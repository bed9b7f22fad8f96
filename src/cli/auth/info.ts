/**
 * `ccproxy auth info`: where the credentials come from, the account, plan, scopes and expiry, with
 * the tokens masked; the profile is asked of the OAuth server only while the access token is good.
 */
import { allCredentials, ENV_TOKEN } from '../../auth/credentials.ts';
import { AuthError, EXIT_CODES } from '../../auth/errors.ts';
import { fetchProfile, type Profile } from '../../auth/oauth.ts';
import { TokenManager } from '../../auth/token-manager.ts';
import { maskToken } from '../../redact.ts';
import { type AuthContext, expiry, fail, loginCommand, paths, tokenManager } from './context.ts';

export async function info(ctx: AuthContext, opts: { json?: boolean; account?: string }): Promise<number> {
  const { settings, io } = ctx;
  if (opts.account !== undefined) {
    // A named account's login (its credentials_file): none there is a failure naming what to run.
    let tokens: TokenManager;
    try {
      tokens = tokenManager(ctx, opts.account);
    } catch (err) {
      if (opts.json && err instanceof AuthError && err.kind === 'failed')
        io.out(`${JSON.stringify({ found: false, account: opts.account }, null, 2)}\n`);
      return fail(ctx, err);
    }
    return describe(ctx, opts, tokens, [], loginCommand(opts.account));
  }
  // Its warnings about unreadable files are the `warning:` lines below (said once, not twice).
  const tokens = new TokenManager({ settings, env: ctx.env, log: ctx.log.child({}, { level: 'error' }) });
  const found = tokens.credentials;
  const sources = allCredentials(paths(ctx), ctx.env, (msg) => io.err(`warning: ${msg}\n`));
  if (!found) {
    const p = paths(ctx);
    if (opts.json) io.out(`${JSON.stringify({ found: false }, null, 2)}\n`);
    else
      io.out(
        `No Claude subscription credentials found. Looked for ${ENV_TOKEN}, ${p.credentialsFile} and ${p.claudeCredentialsFile}.\nRun \`ccproxy auth login\` (or \`claude /login\`), or set ${ENV_TOKEN} to a token from \`claude setup-token\`.\n`,
      );
    return EXIT_CODES.failed;
  }
  return describe(
    ctx,
    opts,
    tokens,
    sources.filter((s) => s.source.label !== found.source.label).map((s) => s.source.label),
    loginCommand(),
  );
}

/** Print what `tokens` holds; `others` are sources also found and not used. */
async function describe(
  ctx: AuthContext,
  opts: { json?: boolean; account?: string },
  tokens: TokenManager,
  others: string[],
  login: string,
): Promise<number> {
  const { settings, io } = ctx;
  const found = tokens.credentials!;
  const suffix = opts.account === undefined ? '' : ` --account ${opts.account}`;
  const state = tokens.state();
  const c = found.credentials;
  const expired = c.expiresAt !== undefined && c.expiresAt <= Date.now();
  let profile: Profile | undefined;
  let profileProblem: string | undefined;
  if (state.reloginRequired) profileProblem = 're-login required';
  else if (expired)
    profileProblem = `the access token has expired (run \`ccproxy auth validate${suffix}\` to refresh it)`;
  else {
    try {
      profile = await fetchProfile(settings, c.accessToken, AbortSignal.timeout(15_000));
    } catch (err) {
      profileProblem = (err as Error).message;
    }
  }
  const status = state.reloginRequired
    ? `re-login required: the refresh token was rejected; run ${login}`
    : expired
      ? c.refreshToken
        ? `access token expired; it is refreshed on the next request (or run \`ccproxy auth refresh${suffix}\`)`
        : `access token expired and there is no refresh token; run ${login}`
      : 'ok';
  const subscription = profile?.subscriptionType ?? c.subscriptionType;

  if (opts.json) {
    io.out(
      `${JSON.stringify(
        {
          found: true,
          ...(opts.account === undefined ? {} : { account: opts.account }),
          source: found.source.label,
          kind: found.source.kind,
          subscription_type: subscription ?? null,
          email: profile?.email ?? null,
          organization: profile?.organization ?? null,
          organization_type: profile?.organizationType ?? null,
          scopes: c.scopes ?? null,
          expires_at: c.expiresAt ? new Date(c.expiresAt).toISOString() : null,
          access_token: maskToken(c.accessToken),
          refresh_token: c.refreshToken ? maskToken(c.refreshToken) : null,
          relogin_required: state.reloginRequired,
          status,
          profile_problem: profileProblem ?? null,
          also_found: others,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    const rows: Array<[string, string]> = [
      ['Source', found.source.label],
      ['Subscription', subscription ?? 'unknown'],
      ['Account', profile?.email ?? `unknown (${profileProblem ?? 'no profile'})`],
      [
        'Organisation',
        profile?.organization
          ? `${profile.organization}${profile.organizationType ? ` (${profile.organizationType})` : ''}`
          : 'unknown',
      ],
      ['Scopes', c.scopes?.join(' ') || 'unknown'],
      ['Expires', expiry(c.expiresAt)],
      ['Access token', maskToken(c.accessToken)],
      ['Refresh token', c.refreshToken ? maskToken(c.refreshToken) : 'none'],
      ['Status', status],
    ];
    for (const [k, v] of rows) io.out(`${`${k}:`.padEnd(15)}${v}\n`);
    if (found.source.kind === 'claude-cli')
      io.out(
        '\nThese are the Claude CLI’s credentials, shared with Claude Code: a refresh by either rotates the token and is written back to that file.\n',
      );
    for (const o of others) io.out(`Also found:    ${o} (not used while the source above has credentials)\n`);
  }
  return state.reloginRequired ? EXIT_CODES.invalid_grant : 0;
}
