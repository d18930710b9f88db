/// <reference lib="dom" />
/**
 * The element builder of the browser apps (web console, Outlook task pane). Data from the API only ever becomes
 * text nodes or attribute values (never innerHTML), so a contact named `<img onerror=…>` is shown, not run. Email
 * html is the one exception, and it goes only into a sandboxed iframe (web/src/email-frame.ts).
 */
export type Child = Node | string | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | undefined | ((ev: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** An amount in the user's locale, or the number and currency code when the code is not one Intl knows. */
export function formatAmount(amount: number | null, currency: string): string {
  if (amount === null) return '';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, maximumFractionDigits: 0 }).format(amount);
  } catch {
    return `${amount} ${currency}`;
  }
}
