/// <reference types="office-js" />
/**
 * The pane's side of the Office dialog fallback: opens auth-dialog.html (same origin, as the dialog API requires)
 * and waits for the one message it sends with `messageParent`.
 */
export interface DialogAnswer {
  status: 'ok' | 'error';
  accessToken?: string;
  message?: string;
}

/** Office's code when the user closes the dialog (https://learn.microsoft.com/office/dev/add-ins/develop/dialog-handle-errors-events). */
const DIALOG_CLOSED = 12006;

export function openAuthDialog(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    Office.context.ui.displayDialogAsync(url, { height: 60, width: 30, promptBeforeOpen: false }, (opened) => {
      if (opened.status !== Office.AsyncResultStatus.Succeeded) {
        reject(new Error(`The sign-in window could not open (${opened.error.code}). Allow pop-ups for Outlook and try again.`));
        return;
      }
      const dialog = opened.value;
      dialog.addEventHandler(Office.EventType.DialogMessageReceived, (arg) => {
        dialog.close();
        const answer = parse('message' in arg ? arg.message : '');
        if (answer?.status === 'ok' && answer.accessToken) resolve(answer.accessToken);
        else reject(new Error(answer?.message || 'Sign-in did not complete.'));
      });
      dialog.addEventHandler(Office.EventType.DialogEventReceived, (arg) => {
        const code = 'error' in arg ? arg.error : 0;
        reject(new Error(code === DIALOG_CLOSED ? 'Sign-in was cancelled.' : `The sign-in window failed (${code}).`));
      });
    });
  });
}

function parse(message: string): DialogAnswer | null {
  try {
    return JSON.parse(message) as DialogAnswer;
  } catch {
    return null;
  }
}
