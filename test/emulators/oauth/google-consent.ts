/** The consent page shown in `page` mode: two plain links, so a browser test can click Allow or Deny. */
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export function consentPage(query: Record<string, string>): string {
  const link = (decision: 'allow' | 'deny'): string => {
    const params = new URLSearchParams({ ...query, decision });
    return `/o/oauth2/v2/auth/decide?${params.toString()}`;
  };
  const who = escapeHtml(query.login_hint || 'the default test user');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in - Google Accounts (emulator)</title></head>
<body>
  <h1>Threadline test wants to access your Google Account</h1>
  <p>Signed in as <span id="user">${who}</span>. Scopes: <code id="scopes">${escapeHtml(query.scope ?? '')}</code></p>
  <a id="allow" href="${escapeHtml(link('allow'))}">Allow</a>
  <a id="deny" href="${escapeHtml(link('deny'))}">Cancel</a>
</body></html>`;
}
