/**
 * The small page a browser lands on at the end of a login (the CLI's callback server and the proxy's
 * `/oauth/callback`). Self-contained: no scripts, no outside resources, so nothing can read the
 * code in the address bar or receive it in a Referer.
 */

export interface Page {
  status: number;
  title: string;
  message: string;
}

export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
};

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

export function renderPage(page: Page): string {
  const ok = page.status < 400;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ccproxy: ${escapeHtml(page.title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem;color:${ok ? '#1a7f37' : '#b42318'}}code{background:#f3f3f3;padding:0 .25rem}</style>
</head><body><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message).replace(/`([^`]+)`/g, '<code>$1</code>')}</p></body></html>
`;
}
