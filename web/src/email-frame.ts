/**
 * Email html in a sandboxed iframe (docs/SECURITY.md). The server already sanitised it and moved remote image sources
 * to `data-remote-src`; this is the browser-side half:
 * - `sandbox` without `allow-scripts` or `allow-same-origin`: nothing in the email runs, and the document has an
 *   opaque origin, so it can reach neither the console's storage (the session token) nor its API;
 * - `allow-popups` (+ escape) so links open in a new, normal tab, through `<base target="_blank">`;
 * - a CSP meta inside the document: no remote load of any kind until the user asks for images, and then images
 *   only. A srcdoc document also inherits the console page's own CSP (web/serve.ts), which must allow them too.
 */
import { h } from './dom';

export const SANDBOX = 'allow-popups allow-popups-to-escape-sandbox';

export function frameCsp(showImages: boolean): string {
  return ["default-src 'none'", "style-src 'unsafe-inline'", `img-src data:${showImages ? ' https:' : ''}`, 'font-src data:', "form-action 'none'"].join('; ');
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** Remote images the server held back. Parsed inertly: a DOMParser document loads nothing. */
export function countRemoteImages(html: string): number {
  return new DOMParser().parseFromString(html, 'text/html').querySelectorAll('img[data-remote-src]').length;
}

/** The html with held-back images given their sources again (only https ones: the frame's CSP allows no more). */
export function withRemoteImages(html: string): string {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  for (const img of Array.from(doc.querySelectorAll('img[data-remote-src]'))) {
    const src = img.getAttribute('data-remote-src') ?? '';
    if (/^https:\/\//i.test(src)) img.setAttribute('src', src);
    img.removeAttribute('data-remote-src');
  }
  return doc.body.innerHTML;
}

export function emailDocument(html: string, showImages: boolean): string {
  const body = showImages ? withRemoteImages(html) : html;
  return `<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(frameCsp(showImages))}">
<base target="_blank">
<style>body{margin:0;padding:12px 16px;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;overflow-wrap:anywhere}img{max-width:100%;height:auto}img[data-remote-src]{display:inline-block;min-width:16px;min-height:16px;background:#eee}table{max-width:100%}</style>
</head><body>${body}</body></html>`;
}

/** The frame for one message; call `showImages()` when the user asks. */
export function emailFrame(html: string, title: string): { frame: HTMLIFrameElement; showImages(): void } {
  const frame = h('iframe', { class: 'email-frame', sandbox: SANDBOX, title, referrerpolicy: 'no-referrer' });
  frame.srcdoc = emailDocument(html, false);
  return {
    frame,
    showImages: () => {
      frame.srcdoc = emailDocument(html, true);
    },
  };
}

/** Plain-text mail, shown as text (never as html). */
export function textBody(text: string): HTMLElement {
  return h('div', { class: 'email-text' }, text || '(no text)');
}
