/**
 * The unified manifest for Microsoft 365 (JSON, for app deployment in the Microsoft 365 admin center), built from
 * the same source as manifest.xml: manifests/outlook/addin.json and the deployment's settings (outlook-addin/build.mjs).
 * Shape: https://learn.microsoft.com/office/dev/add-ins/develop/unified-manifest-overview and the schema reference
 * https://learn.microsoft.com/microsoft-365/extensibility/schema/element-extensions.
 */

/** XML `<Permissions>` → the unified manifest's resource-specific permission (same meaning, other spelling). */
export const PERMISSIONS = {
  Restricted: 'MailboxItem.Restricted.User',
  ReadItem: 'MailboxItem.Read.User',
  ReadWriteItem: 'MailboxItem.ReadWrite.User',
  ReadWriteMailbox: 'Mailbox.ReadWrite.User',
};

export const UNIFIED_SCHEMA_VERSION = '1.17';

/** The unified manifest wants three numbers; the XML's fourth (OUTLOOK_ADDIN_REVISION) is folded into the third. */
export function unifiedVersion(xmlVersion) {
  const [major, minor, patch, revision] = xmlVersion.split('.').map(Number);
  return `${major}.${minor}.${patch * 1000 + (revision || 0)}`;
}

/**
 * @param {{ publicUrl: string, clientId: string, apiResource: string, version: string, addinId: string }} s
 * @param {Record<string, string | number>} a the parsed addin.json
 */
export function unifiedManifest(s, a) {
  const permission = PERMISSIONS[a.permission];
  if (!permission) throw new Error(`manifests/outlook/addin.json: unknown permission "${a.permission}" (one of ${Object.keys(PERMISSIONS).join(', ')})`);
  const asset = (name) => `${s.publicUrl}/addin/assets/${name}`;
  const icons = [16, 32, 80].map((size) => ({ size, url: asset(`icon-${size}.png`) }));
  const mailbox = [{ name: 'Mailbox', minVersion: String(a.commandsMailboxVersion) }];
  return {
    $schema: `https://developer.microsoft.com/json-schemas/teams/v${UNIFIED_SCHEMA_VERSION}/MicrosoftTeams.schema.json`,
    manifestVersion: UNIFIED_SCHEMA_VERSION,
    id: s.addinId,
    version: unifiedVersion(s.version),
    name: { short: a.name, full: a.fullName },
    description: { short: a.shortDescription, full: a.description },
    developer: {
      name: a.provider,
      websiteUrl: s.publicUrl,
      privacyUrl: `${s.publicUrl}/addin/support.html`,
      termsOfUseUrl: `${s.publicUrl}/addin/support.html`,
    },
    // Relative to the app package (manifest.json, color.png, outline.png zipped together).
    icons: { color: 'color.png', outline: 'outline.png' },
    accentColor: a.accentColor,
    localizationInfo: { defaultLanguageTag: 'en-us', additionalLanguages: [] },
    authorization: { permissions: { resourceSpecific: [{ name: permission, type: 'Delegated' }] } },
    validDomains: [new URL(s.publicUrl).host],
    // The add-in's own API for nested app authentication, as WebApplicationInfo in the XML.
    webApplicationInfo: { id: s.clientId, resource: s.apiResource },
    extensions: [
      {
        requirements: { scopes: ['mail'], capabilities: mailbox },
        runtimes: [
          {
            requirements: { capabilities: mailbox },
            id: 'TaskPaneRuntime',
            type: 'general',
            code: { page: `${s.publicUrl}/addin/taskpane.html` },
            lifetime: 'short',
            actions: [{ id: 'openThreadlinePane', type: 'openPage', pinnable: true }],
          },
        ],
        ribbons: [
          {
            contexts: ['mailRead'],
            tabs: [
              {
                builtInTabId: 'TabDefault',
                groups: [
                  {
                    id: 'threadlineReadGroup',
                    label: a.groupLabel,
                    icons,
                    controls: [
                      {
                        id: 'threadlineOpenPane',
                        type: 'button',
                        label: a.buttonLabel,
                        icons,
                        supertip: { title: a.buttonLabel, description: a.buttonTooltip },
                        actionId: 'openThreadlinePane',
                      },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}
