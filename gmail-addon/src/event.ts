/**
 * The parts of an Apps Script add-on event object the add-on reads, taken from either shape Gmail sends:
 * the current one (`commonEventObject`, `gmail`) and the older top-level `parameters` / `formInput`.
 * https://developers.google.com/workspace/add-ons/concepts/event-objects
 */
export interface AddonEvent {
  parameters: Record<string, string>;
  formInputs: Record<string, string>;
  /** Set for a contextual trigger and for actions on a card it built. */
  gmail: { accessToken: string; messageId: string } | null;
}

interface RawEvent {
  commonEventObject?: {
    parameters?: Record<string, string>;
    formInputs?: Record<string, { stringInputs?: { value?: string[] } }>;
  };
  parameters?: Record<string, string>;
  formInput?: Record<string, string>;
  gmail?: { accessToken?: string; messageId?: string };
  messageMetadata?: { accessToken?: string; messageId?: string };
}

export function readEvent(raw: unknown): AddonEvent {
  const e = (raw && typeof raw === 'object' ? raw : {}) as RawEvent;
  const formInputs: Record<string, string> = { ...(e.formInput ?? {}) };
  for (const [name, input] of Object.entries(e.commonEventObject?.formInputs ?? {})) {
    const value = input.stringInputs?.value?.[0];
    if (typeof value === 'string') formInputs[name] = value;
  }
  const g = e.gmail ?? e.messageMetadata;
  return {
    parameters: { ...(e.parameters ?? {}), ...(e.commonEventObject?.parameters ?? {}) },
    formInputs,
    gmail: g?.accessToken && g.messageId ? { accessToken: g.accessToken, messageId: g.messageId } : null,
  };
}
