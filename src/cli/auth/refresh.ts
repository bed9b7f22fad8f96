/** `ccproxy auth refresh`: refresh the access token now and write the new pair back where it came from. */
import { ENV_TOKEN } from '../../auth/credentials.ts';
import { AuthError } from '../../auth/errors.ts';
import { maskToken } from '../../redact.ts';
import { type AuthContext, expiry, fail, loginCommand, refreshFailure, tokenManager } from './context.ts';

export async function refresh(ctx: AuthContext, opts: { account?: string } = {}): Promise<number> {
  const login = loginCommand(opts.account);
  try {
    const tokens = tokenManager(ctx, opts.account);
    const found = tokens.credentials!;
    if (found.source.kind === 'env')
      throw new AuthError(
        'failed',
        `${ENV_TOKEN} holds a long-lived token (from \`claude setup-token\`); it has no refresh token and needs none.`,
      );
    if (!found.credentials.refreshToken)
      throw new AuthError('failed', `${found.source.label} has no refresh token. Run ${login}.`);
    if (tokens.state().reloginRequired)
      throw new AuthError(
        'invalid_grant',
        `Re-login required: this refresh token was already rejected. Run ${login}.`,
      );
    let token: string;
    try {
      token = await tokens.refresh();
    } catch (err) {
      throw refreshFailure(
        tokens,
        err,
        `The refresh token was rejected (invalid_grant): re-login required. Run ${login}.`,
      );
    }
    ctx.io.out(
      `Refreshed. Access token ${maskToken(token)}, expires ${expiry(tokens.state().expiresAt)}.\nThe new pair was written back to ${found.source.label}.\n`,
    );
    return 0;
  } catch (err) {
    return fail(ctx, err);
  }
}
