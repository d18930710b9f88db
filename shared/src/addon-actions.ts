/**
 * Action names the Gmail card's buttons call back (the Gmail add-on's action table implements them). A file of its
 * own, with no imports, so the card builder and the add-on can use the names without bundling any schema.
 */
export const ADDON_ACTIONS = {
  createContact: 'createContact',
  whyNotHere: 'whyNotHere',
  neverLogSender: 'neverLogSender',
  attachToDeal: 'attachToDeal',
  newDeal: 'newDeal',
  addNote: 'addNote',
  addTask: 'addTask',
  dontLog: 'dontLog',
  logAgain: 'logAgain',
  setSharing: 'setSharing',
} as const;
