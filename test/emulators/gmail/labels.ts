/** Gmail's system labels and the label resource (https://developers.google.com/gmail/api/guides/labels). */
export interface Label {
  id: string;
  name: string;
  type: 'system' | 'user';
  messageListVisibility?: 'show' | 'hide';
  labelListVisibility?: 'labelShow' | 'labelShowIfUnread' | 'labelHide';
}

export const SYSTEM_LABELS = [
  'INBOX',
  'SENT',
  'TRASH',
  'SPAM',
  'DRAFT',
  'UNREAD',
  'STARRED',
  'IMPORTANT',
  'CHAT',
  'CATEGORY_PERSONAL',
  'CATEGORY_SOCIAL',
  'CATEGORY_PROMOTIONS',
  'CATEGORY_UPDATES',
  'CATEGORY_FORUMS',
] as const;

export function systemLabels(): Label[] {
  return SYSTEM_LABELS.map((id) => ({ id, name: id, type: 'system' as const }));
}
