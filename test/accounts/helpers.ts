/** What the accounts tests share: one token per account, and who a request upstream came from. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReceivedRequest } from '../support/fake-upstream.ts';

export const TOKEN_A = 'sk-ant-oat01-account-a-0000000000000000000000000000000000000000';
export const TOKEN_B = 'sk-ant-oat01-account-b-0000000000000000000000000000000000000000';
export const TOKEN_C = 'sk-ant-oat01-account-c-0000000000000000000000000000000000000000';
export const API_KEY = 'sk-ant-api03-pay-as-you-go-0000000000000000000000000000000000000';

const BY_TOKEN: Record<string, string> = {
  [TOKEN_A]: 'a',
  [TOKEN_B]: 'b',
  [TOKEN_C]: 'c',
  [API_KEY]: 'payg',
};

/** The account (a, b, c, payg) whose credential a request upstream carried. */
export function accountOf(r: ReceivedRequest): string {
  const key = r.headers['x-api-key'];
  if (typeof key === 'string') return BY_TOKEN[key] ?? 'unknown-key';
  const bearer = /^Bearer (.+)$/.exec(String(r.headers.authorization ?? ''))?.[1];
  return (bearer && BY_TOKEN[bearer]) ?? 'unknown';
}

/** Wait for a condition that an event in another part will make true (checked every 10 ms). */
export async function until(cond: () => boolean | Promise<boolean>, what = 'condition'): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (await cond()) return;
    await sleep(10);
  }
  throw new Error(`${what} never came true`);
}

/** A promise with its resolve function: a gate the test opens. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}
