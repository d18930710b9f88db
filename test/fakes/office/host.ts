/**
 * Puts the stub Office host (./office-stub.js) in place of Microsoft's office.js for every page of a browser
 * context, and drives it from a test: the selected email, ItemChanged, and what the sign-in dialog answers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';

export const OFFICE_JS_URL = 'https://appsforoffice.microsoft.com/lib/1/hosted/office.js';

/** A selected email as the test writes it: addresses as [email, display name]. */
export interface ItemFixture {
  from: [string, string];
  to?: [string, string][];
  cc?: [string, string][];
  subject?: string;
  internetMessageId?: string;
}

export interface OfficeStubOptions {
  item: ItemFixture | null;
  /** Requirement sets the host reports; NestedAppAuth absent means the pane must use the dialog. */
  sets?: Record<string, string>;
  /** 'fails': the host advertises NAA (set NestedAppAuth in `sets`) but its bridge refuses every token request. */
  naa?: 'fails';
  /** Plays the sign-in page the pane opens with displayDialogAsync: the message it would send, or null for "closed". */
  dialogAnswer?: (url: string) => Promise<string | null>;
}

const stubSource = readFileSync(path.join(__dirname, 'office-stub.js'), 'utf8');

export async function installOfficeStub(context: BrowserContext, opts: OfficeStubOptions): Promise<void> {
  // Anything else on Microsoft's CDN would be a real network call in an offline test: refuse it. Registered
  // first because playwright tries the most recently added route first.
  await context.route('https://appsforoffice.microsoft.com/**', (route) => route.abort('blockedbyclient'));
  await context.route(OFFICE_JS_URL, (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: stubSource }));
  await context.addInitScript(
    (cfg) => {
      (window as unknown as { __officeStubConfig: unknown }).__officeStubConfig = cfg;
    },
    { item: opts.item, sets: opts.sets ?? { Mailbox: '1.5' }, naa: opts.naa },
  );
  if (opts.dialogAnswer) await context.exposeFunction('__officeStubDialogAnswer', opts.dialogAnswer);
}

/** The test's handle on the stub inside one page. */
export function officeHost(page: Page) {
  return {
    /** Selects another email (or none) and fires ItemChanged, as Outlook does for a pinned pane. */
    selectItem: (item: ItemFixture | null) =>
      page.evaluate((f) => {
        (window as unknown as { __officeStub: { selectItem(f: unknown): void } }).__officeStub.selectItem(f);
      }, item),
    dialogs: () => page.evaluate(() => [...(window as unknown as { __officeStub: { dialogs: string[] } }).__officeStub.dialogs]),
    refusedModals: () => page.evaluate(() => [...(window as unknown as { __officeStub: { refusedModals: string[] } }).__officeStub.refusedModals]),
    naaRequests: () => page.evaluate(() => [...(window as unknown as { __officeStub: { naaRequests: string[] } }).__officeStub.naaRequests]),
    itemChangedHandlers: () => page.evaluate(() => (window as unknown as { __officeStub: { handlerCount(): number } }).__officeStub.handlerCount()),
  };
}
