/**
 * Keeps a pinned pane in step with the selected email. Outlook fires ItemChanged on every selection change
 * (https://learn.microsoft.com/office/dev/add-ins/outlook/pinnable-taskpane), often several times while the user
 * arrows through a list, so loads are debounced; the previous request is aborted, and an answer that arrives for
 * an item no longer selected is dropped by generation, never rendered.
 */
export interface FollowerDeps<I, R> {
  debounceMs: number;
  /** The current item, read when the debounce fires (null: nothing selected). */
  read(): I | null;
  load(item: I, signal: AbortSignal): Promise<R>;
  view: {
    /** Called at once on every change, so the previous item's data leaves the screen before anything else. */
    loading(): void;
    empty(): void;
    ready(result: R, item: I): void;
    failed(err: unknown, item: I): void;
  };
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface Follower {
  /** The selection changed (or the pane opened): clear, wait for the selection to settle, load. */
  changed(): void;
  /** Load the current item again now (after creating a contact, signing in…). */
  refresh(): void;
}

export function createFollower<I, R>(deps: FollowerDeps<I, R>): Follower {
  const setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = deps.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  let generation = 0;
  let timer: unknown = null;
  let inFlight: AbortController | null = null;

  const stop = () => {
    generation += 1;
    if (timer !== null) clearTimer(timer);
    timer = null;
    inFlight?.abort();
    inFlight = null;
    return generation;
  };

  const run = async (mine: number) => {
    timer = null;
    const item = deps.read();
    if (item === null) return deps.view.empty();
    const controller = new AbortController();
    inFlight = controller;
    try {
      const result = await deps.load(item, controller.signal);
      if (mine === generation) deps.view.ready(result, item);
    } catch (err) {
      if (mine === generation && !controller.signal.aborted) deps.view.failed(err, item);
    } finally {
      if (inFlight === controller) inFlight = null;
    }
  };

  return {
    changed() {
      const mine = stop();
      deps.view.loading();
      timer = setTimer(() => void run(mine), deps.debounceMs);
    },
    refresh() {
      const mine = stop();
      void run(mine);
    },
  };
}
