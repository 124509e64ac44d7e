/**
 * @param {string} tag
 * @param {Record<string, string | boolean | undefined>} [attrs] `false`/undefined leave it out
 * @param {(Node | string)[]} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === undefined) continue;
    node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children);
  return node;
}

/**
 * A table with a caption and column headers; the first cell of each row is its row header.
 * @param {string} caption
 * @param {string[]} headers
 * @param {(Node | string)[][]} rows
 * @param {string} empty what to say when there are no rows
 */
export function table(caption, headers, rows, empty) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'scroll', role: 'region', 'aria-label': caption, tabindex: '0' },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        {},
        ...rows.map((cells) =>
          h(
            'tr',
            {},
            ...cells.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c))),
          ),
        ),
      ),
    ),
  );
}

/**
 * Puts `nodes` in place of what `container` holds, unless they read the same: a live update
 * that changed nothing neither re-announces a live region nor moves the focus. When the focus
 * was inside, it stays on the element with the same `data-focus-key`.
 * @param {HTMLElement} container
 * @param {Node[]} nodes
 */
export function replace(container, ...nodes) {
  const next = document.createElement('div');
  next.append(...nodes);
  if (next.innerHTML === container.innerHTML) return;
  const active = document.activeElement;
  const key =
    active instanceof HTMLElement && container.contains(active)
      ? active.dataset.focusKey
      : undefined;
  container.replaceChildren(...next.childNodes);
  if (key) focusKey(key);
}

/**
 * Focuses the element with `data-focus-key` = key; false when there is none.
 * @param {string} key
 */
export function focusKey(key) {
  const el = document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
  if (!(el instanceof HTMLElement)) return false;
  el.focus();
  return true;
}

/** @param {number | null} p */
export const percent = (p) => (p === null ? '—' : `${Math.round(p * 10) / 10} %`);

/** @param {string | null | undefined} iso */
export const when = (iso) =>
  iso
    ? new Date(iso).toLocaleString([], {
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
      })
    : '—';

/**
 * A message in place of a section the caller may not see or that failed to load.
 * @param {string} message
 */
export const notice = (message) => h('p', { class: 'notice' }, message);
