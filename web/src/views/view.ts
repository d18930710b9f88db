import type { Route } from '../router';

/** A page of the console: renders into `main`; `signal` aborts when the user leaves it (stop polling, drop late answers). */
export type View = (main: HTMLElement, route: Route, signal: AbortSignal) => void;
