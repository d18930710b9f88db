/**
 * The card JSON the renderer takes: the server's `Card` (shared/src/card.ts), plus the one card v1 widget the
 * add-on's own small views need and the server's cards do not use (a text input, for contact search).
 */
import type { Card, CardAction, CardSection, Widget } from '@threadline/shared/src/card';

export interface TextInputWidget {
  /** Without `onChangeAction` the value only travels with the next button's action (event formInputs). */
  textInput: { name: string; label: string; value?: string; hint?: string; multiline?: boolean; onChangeAction?: CardAction };
}
export type AddonWidget = Widget | TextInputWidget;
export type AddonSection = Omit<CardSection, 'widgets'> & { widgets: AddonWidget[] };
export type AddonCard = Omit<Card, 'sections'> & { sections: AddonSection[] };
