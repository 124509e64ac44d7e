import { ApiError, call, claimsOf } from './api.js';
import { submissionsChart } from './chart.js';
import { act } from './dialog.js';
import { notice, replace } from './dom.js';
import { follow } from './sse.js';
import * as views from './views.js';

/** The token lives in this tab's session storage: gone when the tab closes. */
const TOKEN_KEY = 'cohort.monitoring.token';
const TRIAL_KEY = 'cohort.monitoring.trial';
/** After an action, how often and how long apart to fetch until the page shows it (~10 s). */
const SETTLE_TRIES = 20;
const SETTLE_WAIT_MS = 500;

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} [type]
 * @returns {T}
 */
function $(id, type) {
  const el = document.getElementById(id);
  if (!el || (type && !(el instanceof type))) throw new Error(`the page has no #${id}`);
  return /** @type {T} */ (el);
}

const signInSection = $('sign-in');
const board = $('board');
const live = $('live');
const announce = $('announce');

let token = sessionStorage.getItem(TOKEN_KEY) ?? '';
let who = '';
/** @type {string | null} */
let trialId = sessionStorage.getItem(TRIAL_KEY);
/** @type {string | null} */
let patientId = null;
/** @type {AbortController | null} */
let following = null;

/** @param {string} [message] why the user is back at the sign-in form */
function showSignIn(message = '') {
  following?.abort();
  following = null;
  token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  board.hidden = true;
  $('session').hidden = true;
  signInSection.hidden = false;
  announce.textContent = '';
  $('sign-in-error').textContent = message;
  $('token').focus();
}

async function start() {
  const claims = claimsOf(token);
  if (!claims) {
    showSignIn('That is not a token: paste the whole JWT (three parts separated by dots).');
    return;
  }
  who = `${claims.sub} (${claims.role})`;
  $('who').textContent = `Signed in as ${who}`;
  $('session').hidden = false;
  signInSection.hidden = true;
  board.hidden = false;
  await refresh();
  if (!token) return; // the server refused the token
  $('main').focus();
  following = new AbortController();
  void follow('/v1/events', token, following.signal, {
    onEvent: () => void refresh(),
    onState: (state, detail) => {
      live.textContent =
        state === 'live'
          ? 'Live'
          : state === 'reconnecting'
            ? 'Connection lost, reconnecting…'
            : `No live updates: ${detail}`;
      if (state === 'live') void refresh();
    },
  });
}

/** @type {Promise<void> | null} */
let running = null;
/** @type {Promise<void> | null} */
let queued = null;

/**
 * Fetches everything shown. A call while a pass runs queues one more pass after it (shared by
 * every such call): each caller sees data fetched after its call, and waits at most two passes
 * however fast updates come.
 * @returns {Promise<void>}
 */
function refresh() {
  if (!running) {
    running = Promise.all([loadTrial(), loadOperations()]).then(
      () => {
        running = null;
      },
      () => {
        running = null;
      },
    );
    return running;
  }
  queued ??= running.then(() => {
    queued = null;
    return token ? refresh() : undefined;
  });
  return queued;
}

/**
 * Shows what `load` renders in `container`, or why it cannot: a 403 says what the token does
 * not allow; a 401 sends the user back to sign in.
 * @param {HTMLElement} container
 * @param {() => Promise<Node | Node[]>} load
 * @returns {Promise<boolean>} whether it loaded
 */
async function show(container, load) {
  try {
    const nodes = await load();
    replace(container, ...(Array.isArray(nodes) ? nodes : [nodes]));
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      showSignIn(`The server refused the token: ${e.message}. Sign in with a valid one.`);
    } else if (e instanceof ApiError && e.status === 403) {
      replace(container, notice(`Signed in as ${who}, you may not see this: ${e.message}.`));
    } else {
      const why = e instanceof Error ? e.message : String(e);
      replace(
        container,
        notice(`Could not load this part: ${why}. It is fetched again on the next update.`),
      );
    }
    return false;
  }
}

const select = $('trial-select', HTMLSelectElement);
select.addEventListener('change', () => {
  trialId = select.value;
  sessionStorage.setItem(TRIAL_KEY, trialId);
  patientId = null;
  $('timeline-section').hidden = true;
  void refresh();
});

async function loadTrial() {
  /** @type {views.Trial[]} */
  let trials = [];
  const noticeBox = $('trial-notice');
  const listed = await show(noticeBox, async () => {
    trials = /** @type {{ items: views.Trial[] }} */ (await call(token, '/v1/trials')).items;
    return trials.length === 0
      ? [document.createTextNode('No trial you may see has been set up yet.')]
      : [];
  });
  const any = listed && trials.length > 0;
  noticeBox.hidden = any;
  for (const id of [
    'trial-body',
    'sites-section',
    'chart-section',
    'alerts-section',
    'patients-section',
  ]) {
    $(id).hidden = !any;
  }
  if (!any) {
    $('timeline-section').hidden = true;
    return;
  }
  if (!trialId || !trials.some((t) => t.trialId === trialId)) trialId = trials[0]?.trialId ?? null;
  replace(select, ...trials.map((t) => new Option(`${t.name} (${t.trialId})`, t.trialId)));
  select.value = trialId ?? '';
  const t = encodeURIComponent(trialId ?? '');
  /** @type {Promise<views.Trial>} */
  const detail = call(token, `/v1/trials/${t}`).then((d) => /** @type {views.Trial} */ (d));
  await Promise.all([
    show($('overview'), async () => views.overview(await detail)),
    show($('sites'), async () => views.sites((await detail).siteTable ?? [])),
    show($('chart'), async () => {
      const s = /** @type {{ perMinute: { minute: string, reports: number }[] }} */ (
        await call(token, `/v1/trials/${t}/submissions?minutes=60`)
      );
      return submissionsChart(s.perMinute);
    }),
    show($('alerts'), async () => {
      const { items } = /** @type {{ items: views.Alert[] }} */ (
        await call(token, `/v1/alerts?trialId=${t}`)
      );
      return views.alerts(
        items.filter((a) => a.status !== 'resolved'),
        onAct,
      );
    }),
    show($('patients'), async () => {
      const { items } = /** @type {{ items: views.PatientRow[] }} */ (
        await call(token, `/v1/trials/${t}/patients`)
      );
      return views.patients(items, (id) => void openTimeline(id));
    }),
    patientId ? loadTimeline() : Promise.resolve(),
  ]);
}

function loadTimeline() {
  const t = encodeURIComponent(trialId ?? '');
  const p = encodeURIComponent(patientId ?? '');
  return show($('timeline'), async () =>
    views.timeline(
      /** @type {views.Timeline} */ (await call(token, `/v1/trials/${t}/patients/${p}/timeline`)),
    ),
  );
}

/** @param {string} id */
async function openTimeline(id) {
  patientId = id;
  $('timeline-title').textContent = `Timeline of ${id}`;
  $('timeline-section').hidden = false;
  await loadTimeline();
  $('timeline-title').focus();
}

async function loadOperations() {
  const ok = await show($('lag'), async () =>
    views.lag(/** @type {views.Pipeline} */ (await call(token, '/v1/operations/pipeline'))),
  );
  $('dead-letters-title').hidden = !ok;
  $('dead-letters').hidden = !ok;
  if (!ok) return;
  await show($('dead-letters'), async () => {
    const { items } = /** @type {{ items: views.DeadLetter[] }} */ (
      await call(token, '/v1/dead-letters?status=open')
    );
    return views.deadLetters(items, onAct);
  });
}

/** @type {views.Act} */
function onAct(kind, id, what) {
  const trial = encodeURIComponent(trialId ?? '');
  act({
    kind,
    what,
    send: async (text) => {
      const path =
        kind === 'redrive'
          ? `/v1/dead-letters/${encodeURIComponent(id)}/redrive`
          : `/v1/trials/${trial}/alerts/${encodeURIComponent(id)}/${kind}`;
      const body =
        kind === 'acknowledge'
          ? { note: text }
          : kind === 'resolve'
            ? { actionTaken: text }
            : { reason: text };
      await call(token, path, { method: 'POST', body });
      // The views catch up with a recorded change a moment later: fetch until the button just
      // used is gone (and, after acknowledging, the Resolve button is there), or give up.
      const shown = () =>
        !document.querySelector(`[data-focus-key="${CSS.escape(`${kind}:${id}`)}"]`) &&
        (kind !== 'acknowledge' ||
          document.querySelector(`[data-focus-key="${CSS.escape(`resolve:${id}`)}"]`));
      for (let i = 0; i < SETTLE_TRIES && token; i++) {
        await refresh();
        if (shown()) break;
        await new Promise((r) => setTimeout(r, SETTLE_WAIT_MS));
      }
      announce.textContent = `${kind === 'redrive' ? 'Redriven' : kind === 'acknowledge' ? 'Acknowledged' : 'Resolved'}: ${id}.`;
    },
    // After acknowledging, the same alert's Resolve button; else the list's heading.
    next: kind === 'acknowledge' ? `resolve:${id}` : null,
    fallback: kind === 'redrive' ? $('dead-letters-title') : $('alerts-title'),
  });
}

$('sign-in-form', HTMLFormElement).addEventListener('submit', (e) => {
  e.preventDefault();
  const field = $('token', HTMLTextAreaElement);
  const pasted = field.value.trim().replace(/^Bearer\s+/i, '');
  if (!pasted) {
    $('sign-in-error').textContent = 'Paste a token first.';
    field.focus();
    return;
  }
  field.value = '';
  token = pasted;
  sessionStorage.setItem(TOKEN_KEY, token);
  void start();
});
$('sign-out').addEventListener('click', () => showSignIn('Signed out.'));

if (token) void start();
else showSignIn();
