/**
 * Email HTML → HTML safe to show in the CRM (docs/SECURITY.md): an allowlist through sanitize-html, with remote content
 * off by default. The UI still renders the result in a sandboxed iframe; this is the server-side half of the defence.
 *
 * - Scripts, event handlers, iframes, objects, forms, SVG/MathML, <base>, <meta>, <link> and <style> blocks are
 *   removed. <style> blocks go entirely (content included): a CSS sanitiser that can be trusted with selectors and
 *   at-rules is a project of its own, and inline `style` attributes carry most email formatting anyway.
 * - Inline styles keep an allowlist of layout and typography properties whose values contain no `url(`, no
 *   `image-set(`, no string, no escape and no function but colours and calc — so CSS cannot fetch anything.
 * - Links: http(s), mailto and tel only, opened in a new tab without opener or referrer.
 * - Images: remote sources are moved to `data-remote-src` (and counted) so the UI can load them on demand;
 *   `cid:` sources are mapped through `cidMap` (to a URL of ours); `data:` is kept for raster image types only.
 */
import sanitizeHtml from 'sanitize-html';

export interface SanitizeOptions {
  /** Content-ID (no brackets) → URL the UI may load, for inline images. */
  cidMap?: Record<string, string>;
}

export interface SanitizedHtml {
  html: string;
  /** Remote images moved to data-remote-src. */
  blockedRemoteImages: number;
}

const ALLOWED_TAGS = [...sanitizeHtml.defaults.allowedTags, 'img', 'font', 'center', 'del', 'ins', 'big', 'small', 'tt', 'strike', 'span', 'div'];

const COMMON_ATTRIBUTES = ['style', 'dir', 'lang', 'title', 'align'];
const ALLOWED_ATTRIBUTES: Record<string, string[]> = {
  '*': COMMON_ATTRIBUTES,
  a: ['href', 'name', 'target', 'rel'],
  img: ['src', 'alt', 'width', 'height', 'border', 'data-remote-src', 'data-cid'],
  font: ['color', 'face', 'size'],
  table: ['width', 'height', 'border', 'cellpadding', 'cellspacing', 'bgcolor'],
  td: ['width', 'height', 'colspan', 'rowspan', 'valign', 'bgcolor', 'nowrap'],
  th: ['width', 'height', 'colspan', 'rowspan', 'valign', 'bgcolor', 'nowrap'],
  tr: ['valign', 'bgcolor'],
  col: ['width', 'span'],
  colgroup: ['width', 'span'],
  ol: ['start', 'type'],
  ul: ['type'],
};

/**
 * A CSS value with no way to load or execute anything: no backslash escapes, quotes, angle brackets, braces,
 * semicolons or at-signs, and an opening parenthesis only after a colour or arithmetic function name. `url(`,
 * `image-set(`, `expression(` and friends therefore never match. font-family is the one property that needs quotes.
 */
const SAFE_CSS_VALUE = /^(?:[^\\()"'<>{};@]|(?<=\b(?:rgba?|hsla?|calc|min|max|clamp))\(|\))*$/i;
const SAFE_FONT_FAMILY = /^[\w\s,'"-]*$/;

const STYLE_PROPERTIES = [
  'color',
  'background-color',
  'background',
  'font',
  'font-size',
  'font-style',
  'font-weight',
  'font-variant',
  'line-height',
  'letter-spacing',
  'word-spacing',
  'text-align',
  'text-decoration',
  'text-transform',
  'text-indent',
  'vertical-align',
  'white-space',
  'word-break',
  'word-wrap',
  'overflow-wrap',
  'direction',
  'margin',
  'margin-top',
  'margin-right',
  'margin-bottom',
  'margin-left',
  'padding',
  'padding-top',
  'padding-right',
  'padding-bottom',
  'padding-left',
  'border',
  'border-top',
  'border-right',
  'border-bottom',
  'border-left',
  'border-color',
  'border-style',
  'border-width',
  'border-radius',
  'border-collapse',
  'border-spacing',
  'width',
  'height',
  'max-width',
  'min-width',
  'max-height',
  'min-height',
  'display',
  'table-layout',
  'list-style-type',
  'float',
  'clear',
  'overflow',
  'opacity',
];
const ALLOWED_STYLES: Record<string, RegExp[]> = {
  ...Object.fromEntries(STYLE_PROPERTIES.map((p) => [p, [SAFE_CSS_VALUE]])),
  'font-family': [SAFE_FONT_FAMILY],
};

const RASTER_DATA_URI = /^data:image\/(?:png|jpe?g|gif|webp|bmp);base64,[a-z0-9+/=\s]*$/i;

export function sanitizeEmailHtml(html: string, opts: SanitizeOptions = {}): SanitizedHtml {
  let blockedRemoteImages = 0;
  const cidMap = normaliseCidMap(opts.cidMap);

  const transformImage: sanitizeHtml.Transformer = (tagName, attribs) => {
    const out: sanitizeHtml.Attributes = { ...attribs };
    delete out.src;
    delete out['data-remote-src'];
    delete out['data-cid'];
    // Browsers ignore ASCII whitespace and controls inside URLs; so must the checks (`java\tscript:`, ` http:`).
    const src = (attribs.src ?? '').replace(/[\u0000-\u0020]+/g, '');
    if (/^cid:/i.test(src)) {
      const cid = decodeCid(src.slice(4));
      const mapped = cidMap.get(cid);
      if (mapped !== undefined) out.src = mapped;
      else out['data-cid'] = cid;
    } else if (RASTER_DATA_URI.test(src)) {
      out.src = src;
    } else {
      const remote = remoteUrl(src);
      if (remote !== null) {
        out['data-remote-src'] = remote;
        blockedRemoteImages += 1;
      }
    }
    return { tagName, attribs: out };
  };

  const clean = sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: ALLOWED_ATTRIBUTES,
    allowedStyles: { '*': ALLOWED_STYLES },
    allowedSchemes: ['http', 'https', 'mailto', 'tel'],
    // img src is only ever a cid-mapped URL of ours or a raster data: URI by now (see transformImage).
    allowedSchemesByTag: { img: ['http', 'https', 'data'] },
    allowProtocolRelative: false,
    // Dropped together with their text, not just unwrapped: a <title> or an Outlook <xml> block is not body text.
    nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'xml', 'template', 'head'],
    disallowedTagsMode: 'discard',
    transformTags: {
      img: transformImage,
      a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: 'noopener noreferrer', target: '_blank' } }),
    },
  });
  return { html: clean, blockedRemoteImages };
}

/** An absolute http(s) URL (protocol-relative ones read as https), or null for anything else. */
function remoteUrl(src: string): string | null {
  if (src.length === 0) return null;
  try {
    const url = new URL(src.startsWith('//') ? `https:${src}` : src);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function decodeCid(s: string): string {
  let cid = s;
  try {
    cid = decodeURIComponent(s);
  } catch {
    // keep as written
  }
  return cid.replace(/^<|>$/g, '').trim().toLowerCase();
}

/** Content-IDs compare case-insensitively here: mail clients are inconsistent about the case of their own ids. */
function normaliseCidMap(map: Record<string, string> | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const [cid, url] of Object.entries(map ?? {})) out.set(cid.replace(/^<|>$/g, '').trim().toLowerCase(), url);
  return out;
}
