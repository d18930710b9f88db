/**
 * The pane's settings, written into taskpane.html by `npm run build` (outlook-addin/build.mjs) from the server's
 * configuration, so one built pane talks to the backend that serves it with no runtime lookup.
 */
export interface PaneConfig {
  /** The app registration's client id (MICROSOFT_CLIENT_ID). */
  clientId: string;
  /** `https://login.microsoftonline.com/common` unless MICROSOFT_AUTHORITY says otherwise. */
  authority: string;
  /** The add-in's own API scope: `api://<host>/<clientId>/access_as_user`. */
  apiScope: string;
}

export function readConfig(doc: Document): PaneConfig {
  const raw = doc.getElementById('threadline-config')?.textContent ?? '';
  const parsed = JSON.parse(raw || '{}') as Partial<PaneConfig>;
  if (!parsed.clientId || !parsed.authority || !parsed.apiScope) {
    throw new Error('The task pane was built without its configuration: run `npm run build` again.');
  }
  return { clientId: parsed.clientId, authority: parsed.authority, apiScope: parsed.apiScope };
}
