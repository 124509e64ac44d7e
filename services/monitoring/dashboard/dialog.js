import { ApiError } from './api.js';
import { focusKey } from './dom.js';

/** What each action asks for: the dialog's title, the field's label, the button. */
const WORDING = {
  acknowledge: { title: 'Acknowledge alert', label: 'Note: what you saw', submit: 'Acknowledge' },
  resolve: { title: 'Resolve alert', label: 'Action taken', submit: 'Resolve' },
  redrive: { title: 'Redrive dead letter', label: 'Reason: what was fixed', submit: 'Redrive' },
};

const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('act'));
const form = /** @type {HTMLFormElement} */ (document.getElementById('act-form'));
const text = /** @type {HTMLTextAreaElement} */ (document.getElementById('act-text'));
const error = /** @type {HTMLElement} */ (document.getElementById('act-error'));
const submit = /** @type {HTMLButtonElement} */ (document.getElementById('act-submit'));

/**
 * @typedef {object} Action
 * @property {keyof typeof WORDING} kind
 * @property {string} what what is acted on, in words
 * @property {(text: string) => Promise<void>} send records it; rejects with the server's answer
 * @property {string | null} next the `data-focus-key` to focus once done
 * @property {HTMLElement} fallback focused when neither `next` nor the opener is there any more
 */

/** @type {Action | null} */
let current = null;
/** @type {string | undefined} */
let opener;
let done = false;

/**
 * Asks for the note, action taken or reason in a modal dialog and records it. Closing returns
 * the focus to the button that opened it (or, once done, to what comes next).
 * @param {Action} action
 */
export function act(action) {
  current = action;
  done = false;
  const active = document.activeElement;
  opener = active instanceof HTMLElement ? active.dataset.focusKey : undefined;
  const w = WORDING[action.kind];
  /** @type {HTMLElement} */ (document.getElementById('act-title')).textContent = w.title;
  /** @type {HTMLElement} */ (document.getElementById('act-what')).textContent =
    `${w.title}: ${action.what}. What you write is kept with your name.`;
  /** @type {HTMLElement} */ (document.getElementById('act-label')).textContent = w.label;
  submit.textContent = w.submit;
  submit.disabled = false;
  text.value = '';
  error.textContent = '';
  dialog.showModal();
  text.focus();
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!current) return;
  const value = text.value.trim();
  if (!value) {
    error.textContent = `${WORDING[current.kind].label} is required.`;
    text.focus();
    return;
  }
  const action = current;
  submit.disabled = true;
  error.textContent = '';
  action.send(value).then(
    () => {
      done = true;
      dialog.close();
    },
    (/** @type {unknown} */ e) => {
      submit.disabled = false;
      error.textContent =
        e instanceof ApiError && e.status === 403
          ? `Not allowed: ${e.message}.`
          : `Not recorded: ${e instanceof Error ? e.message : String(e)}.`;
      text.focus();
    },
  );
});

/** @type {HTMLButtonElement} */ (document.getElementById('act-cancel')).addEventListener(
  'click',
  () => dialog.close(),
);

dialog.addEventListener('close', () => {
  // The close event is queued: when it arrives after the dialog was opened again (Escape, then
  // at once Enter on the same button), it belongs to the previous opening.
  if (dialog.open) return;
  const action = current;
  current = null;
  if (!action) return;
  const target = done && action.next ? action.next : opener;
  if (target && focusKey(target)) return;
  if (opener && focusKey(opener)) return;
  action.fallback.focus();
});
