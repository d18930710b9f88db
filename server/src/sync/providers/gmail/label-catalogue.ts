/**
 * Labels are names to people and ids to Gmail: a user label is `Label_N` in the API and "Customers/ACME" in Gmail's
 * UI (https://developers.google.com/gmail/api/guides/labels; users.labels resource: `id` "The immutable ID of the
 * label", `name` "The display name of the label"). The product speaks names everywhere (privacy `excludedLabels`,
 * CRM label writes and filters, the sidebars), so this catalogue, one per mailbox, translates at the adapter edge:
 * ids → names for what comes in, names → ids for what goes out (creating a label the mailbox does not have yet).
 *
 * System labels (INBOX, UNREAD, CATEGORY_SOCIAL, …) are their own name and pass through unchanged, without a call.
 * The list is read once, when a user label first needs translating, and again when an id or a name is not in it
 * (a label made in Gmail since, e.g. a history `labelsAdded` with a new id). Gmail compares label names without
 * regard to case (labels.create answers 409 for "customers" when "Customers" exists), and so does this.
 */
import type { gmail_v1 } from '@googleapis/gmail';
import { ProviderError } from '../port';
import type { GmailClient } from './client';
import { GMAIL_SYSTEM_LABELS } from './capabilities';

const USER = 'me';

const SYSTEM = new Set(GMAIL_SYSTEM_LABELS);
const isSystem = (label: string): boolean => SYSTEM.has(label);
const nameKey = (name: string): string => name.trim().replace(/\s+/g, ' ').toLowerCase();

export class GmailLabelCatalogue {
  private byId = new Map<string, string>();
  private byName = new Map<string, string>();
  private loaded: Promise<void> | null = null;

  constructor(private readonly client: GmailClient) {}

  /** Label ids as Gmail gives them → what people see. An id Gmail no longer lists (a deleted label) is dropped. */
  async namesOf(ids: readonly string[]): Promise<string[]> {
    const user = ids.filter((id) => !isSystem(id));
    if (user.length === 0) return [...ids];
    await this.ensureLoaded();
    if (user.some((id) => !this.byId.has(id))) await this.refresh();
    return ids.flatMap((id) => (isSystem(id) ? [id] : this.byId.has(id) ? [this.byId.get(id)!] : []));
  }

  /**
   * Names (as people and the CRM write them) → Gmail label ids. `create`: a name the mailbox has no label for is
   * made (labels.create); otherwise it is left out (removing a label the mailbox does not have changes nothing).
   */
  async idsOf(names: readonly string[], opts: { create: boolean }): Promise<string[]> {
    const out: string[] = [];
    for (const name of names) {
      if (isSystem(name)) {
        out.push(name);
        continue;
      }
      const id = (await this.lookup(name)) ?? (opts.create ? await this.create(name) : null);
      if (id) out.push(id);
    }
    return [...new Set(out)];
  }

  private async lookup(name: string): Promise<string | null> {
    await this.ensureLoaded();
    if (!this.byName.has(nameKey(name))) await this.refresh();
    return this.byName.get(nameKey(name)) ?? null;
  }

  private async create(name: string): Promise<string> {
    const trimmed = name.trim();
    if (!trimmed) throw new ProviderError('invalid', 'A label needs a name');
    try {
      const label = await this.client.call('labels.create', (api) =>
        api.users.labels.create({ userId: USER, requestBody: { name: trimmed, labelListVisibility: 'labelShow', messageListVisibility: 'show' } }),
      );
      if (!label.id) throw new ProviderError('invalid', 'Gmail: label answer without id', { providerCode: 'malformedResponse' });
      this.remember({ ...label, name: label.name ?? trimmed });
      return label.id;
    } catch (err) {
      // Made meanwhile (in Gmail, or by another worker): 409 "Label name exists or conflicts". Use that one.
      if (!(err instanceof ProviderError && err.details.status === 409)) throw err;
      await this.refresh();
      const id = this.byName.get(nameKey(trimmed));
      if (!id) throw err;
      return id;
    }
  }

  private ensureLoaded(): Promise<void> {
    return (this.loaded ??= this.refresh());
  }

  private async refresh(): Promise<void> {
    const answer = await this.client
      .call('labels.list', (api) => api.users.labels.list({ userId: USER }), { retries: 2 })
      .catch((err) => {
        this.loaded = null;
        throw err;
      });
    this.byId = new Map();
    this.byName = new Map();
    for (const label of answer.labels ?? []) this.remember(label);
    this.loaded = Promise.resolve();
  }

  private remember(label: gmail_v1.Schema$Label): void {
    if (!label.id || !label.name || isSystem(label.id)) return;
    this.byId.set(label.id, label.name);
    this.byName.set(nameKey(label.name), label.id);
  }
}
