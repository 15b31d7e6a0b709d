import { useAction, useSubmission, type Action } from '@solidjs/router';
import { createSignal, createUniqueId } from 'solid-js';
import type { ConfirmRequest } from '../components/ConfirmDialog.tsx';
import { settled } from './settled.ts';

/** A router action whose first argument is the id of the row's item. */
type RowAction = Action<[string, ...any[]], any, any>;

/** Each action, bound to the router like `useAction` gives it. */
type Runners<A extends Record<string, RowAction>> = {
  [K in keyof A]: (...args: Parameters<A[K]>) => ReturnType<A[K]>;
};

export interface RowActions<A extends Record<string, RowAction>, F extends string> {
  /** The row's header cell id: its buttons are described by it ("Delete", of which row). */
  headerId: string;
  run: Runners<A>;
  /** True while one of the row's changes is in flight (or waits for a step-up touch). */
  busy: () => boolean;
  /** The failure of the row's latest changes, in the order the actions were given. */
  error: () => unknown;
  /** Forgets earlier failures. */
  clear: () => void;
  /**
   * Makes one change: ignored while another is in flight, asked first when `question` is
   * given, earlier failures cleared. Resolves to the result, or to undefined when declined or
   * failed (the failure shows from `error`).
   */
  act: <T>(change: () => Promise<T>, question?: ConfirmRequest) => Promise<T | undefined>;
  /** The inline form shown in place of the row's actions, if any. */
  editing: () => F | undefined;
  startEditing: (form: F) => void;
  /** Closes the form and gives the focus back to the row's first action. */
  stopEditing: () => void;
  /** For the element that holds the row's action buttons. */
  actionsRef: (element: HTMLElement) => void;
}

/**
 * What one table row can do to its item, and the state of it. Controls stay enabled while a
 * change is in flight (disabling would drop keyboard focus); a second click is ignored instead.
 * Call inside a component.
 */
export function useRowActions<A extends Record<string, RowAction>, F extends string = string>(options: {
  /** The row's item, the first argument of each action. */
  id: () => string;
  actions: A;
  /** Asks before a change that cannot be taken back; needed for `act` with a question. */
  confirm?: (request: ConfirmRequest) => Promise<boolean>;
}): RowActions<A, F> {
  const { id, actions, confirm } = options;
  const names = Object.keys(actions) as Array<keyof A & string>;
  const submissions = names.map((name) => useSubmission(actions[name]!, (input) => input[0] === id()));
  const run = Object.fromEntries(names.map((name) => [name, useAction(actions[name]!)])) as unknown as Runners<A>;
  const [editing, setEditing] = createSignal<F>();
  let actionButtons: HTMLElement | undefined;

  const busy = () => submissions.some((submission) => submission.pending);
  const clear = () => submissions.forEach((submission) => submission.clear());

  return {
    headerId: createUniqueId(),
    run,
    busy,
    error: () => submissions.reduce<unknown>((found, submission) => found ?? submission.error, undefined),
    clear,
    async act(change, question) {
      if (busy()) return undefined;
      // A question nobody can answer must not count as a yes.
      if (question && !confirm) throw new Error(`useRowActions: "${question.title}" needs options.confirm`);
      if (question && !(await confirm!(question))) return undefined;
      clear();
      return settled(change());
    },
    editing,
    startEditing(form) {
      if (busy()) return;
      clear();
      setEditing(() => form);
    },
    stopEditing() {
      setEditing(undefined);
      actionButtons?.querySelector('button')?.focus();
    },
    actionsRef: (element) => {
      actionButtons = element;
    },
  };
}
