/**
 * Draws a card the recording CardService captured (card-service.ts) as a plain HTML page, so a browser test can
 * take a picture of what the add-on shows (the README's screenshot). Gmail draws cards with its own styles; this
 * approximates the card v1 layout — header, sections with their headers, decorated texts with icon and labels,
 * button rows, a fixed footer — closely enough to show the content and its order, nothing more. Every text is
 * escaped: card texts are data here, not markup.
 */
import type { Recorded } from './card-service';

const esc = (s: unknown): string =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** A small glyph per CardService icon the add-on uses (ones common fonts have: no emoji); others get a dot. */
const ICON_GLYPHS: Record<string, string> = {
  PERSON: '◉',
  EMAIL: '✉',
  DESCRIPTION: '☰',
  STORE: '⌂',
  DOLLAR: '$',
  CLOCK: '◷',
  STAR: '★',
  MULTIPLE_PEOPLE: '◎',
};

function button(b: Recorded, primary = false): string {
  const filled = primary || b.textButtonStyle === 'FILLED';
  return `<span class="btn${filled ? ' filled' : ''}">${esc(b.text)}</span>`;
}

function widget(w: Recorded): string {
  switch (w.type) {
    case 'DecoratedText': {
      const icon = (w.startIcon as Recorded | undefined)?.icon as string | undefined;
      return (
        `<div class="dt">${icon ? `<span class="icon">${esc(ICON_GLYPHS[icon] ?? '•')}</span>` : '<span class="icon"></span>'}<div>` +
        `${w.topLabel ? `<div class="label">${esc(w.topLabel)}</div>` : ''}<div class="text${w.openLink || w.onClickAction ? ' link' : ''}">${esc(w.text)}</div>` +
        `${w.bottomLabel ? `<div class="label">${esc(w.bottomLabel)}</div>` : ''}</div></div>`
      );
    }
    case 'TextParagraph':
      return `<p class="para">${esc(w.text)}</p>`;
    case 'ButtonSet':
      return `<div class="buttons">${((w.buttons as Recorded[]) ?? []).map((b) => button(b)).join('')}</div>`;
    case 'TextButton':
      return `<div class="buttons">${button(w)}</div>`;
    case 'Divider':
      return '<hr>';
    case 'TextInput':
      return `<label class="input"><span class="label">${esc(w.title)}</span><span class="field">${esc(w.value ?? w.hint ?? '')}</span></label>`;
    default:
      return '';
  }
}

/** A whole page: the card in a 320 px side panel, as Gmail shows add-ons beside an open email. */
export function cardToHtml(card: Recorded, addOnName = 'Threadline'): string {
  const header = card.header as Recorded | undefined;
  const sections = ((card.sections as Recorded[]) ?? [])
    .map((s) => `<section>${s.header ? `<h2>${esc(s.header)}</h2>` : ''}${((s.widgets as Recorded[]) ?? []).map(widget).join('')}</section>`)
    .join('');
  const footer = card.fixedFooter as Recorded | undefined;
  return (
    `<!doctype html><html><head><meta charset="utf-8"><style>
  * { box-sizing: border-box; }
  body { margin: 0; background: #f6f8fc; font: 14px/1.45 Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif; color: #1f1f1f; }
  .panel { width: 320px; background: #fff; border-left: 1px solid #dadce0; min-height: 100vh; display: flex; flex-direction: column; }
  .bar { font-size: 13px; color: #444746; padding: 10px 16px; border-bottom: 1px solid #dadce0; }
  .head { padding: 14px 16px 6px; } .head .title { font-size: 18px; } .head .sub { color: #444746; font-size: 13px; }
  section { padding: 6px 16px 10px; border-bottom: 1px solid #e8eaed; }
  h2 { font-size: 13px; font-weight: 500; color: #444746; margin: 6px 0; }
  .dt { display: flex; gap: 12px; padding: 6px 0; } .icon { width: 20px; text-align: center; color: #5f6368; }
  .label { font-size: 12px; color: #5f6368; } .text.link { color: #0b57d0; }
  .para { margin: 6px 0; } hr { border: 0; border-top: 1px solid #e8eaed; }
  .buttons { display: flex; flex-wrap: wrap; gap: 4px 8px; padding: 4px 0; }
  .btn { color: #0b57d0; font-weight: 500; padding: 6px 8px; border-radius: 16px; }
  .btn.filled { background: #0b57d0; color: #fff; padding: 8px 20px; }
  .cards { flex: 1; } footer { display: flex; justify-content: flex-end; gap: 8px; padding: 10px 16px; border-top: 1px solid #dadce0; }
  </style></head><body><div class="panel"><div class="bar">${esc(addOnName)}</div><div class="cards">` +
    `${header ? `<div class="head"><div class="title">${esc(header.title)}</div>${header.subtitle ? `<div class="sub">${esc(header.subtitle)}</div>` : ''}</div>` : ''}` +
    `${sections}</div>${footer ? `<footer>${footer.secondaryButton ? button(footer.secondaryButton as Recorded) : ''}${button(footer.primaryButton as Recorded, true)}</footer>` : ''}` +
    '</div></body></html>'
  );
}
