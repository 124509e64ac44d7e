import type { ReplayRecord } from './record.js';

/** The columns every row has, before the answers: the envelope and a diary entry's fields. */
export const CSV_FIXED_COLUMNS = [
  'seq',
  'subject',
  'time',
  'id',
  'type',
  'version',
  'occurredAt',
  'recordedAt',
  'actorId',
  'actorRole',
  'trialId',
  'patientId',
  'siteId',
  'requestId',
  'questionnaireId',
  'questionnaireVersion',
  'completedAt',
  'devicePlatform',
  'deviceAppVersion',
] as const;

/** The keys of `data` that have columns of their own; the rest goes to the `data` column as JSON. */
const DATA_IN_COLUMNS = new Set([
  'trialId',
  'patientId',
  'siteId',
  'requestId',
  'questionnaire',
  'completedAt',
  'device',
  'answers',
]);

interface Answer {
  itemId?: unknown;
  value?: unknown;
  unit?: unknown;
}

type Loose = Record<string, unknown> | undefined;

function answersOf(r: ReplayRecord): Answer[] {
  const answers = ((r.event as Loose)?.data as Loose)?.answers;
  return Array.isArray(answers) ? (answers as Answer[]) : [];
}

const NEEDS_QUOTES = /[",\r\n]/;

/** A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break. */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The members of `data` without a column of their own, or undefined when there are none. */
function restOf(data: Record<string, unknown>): Record<string, unknown> | undefined {
  let rest: Record<string, unknown> | undefined;
  for (const key in data) {
    if (!DATA_IN_COLUMNS.has(key)) (rest ??= {})[key] = data[key];
  }
  return rest;
}

/**
 * The wide layout of questionnaire answers: after the envelope's columns, `data` and `invalid`,
 * one `answer.<itemId>` column per item any row answers (and `answer.<itemId>.unit` where any
 * answer of it carries a unit), in the order they first appear, so a questionnaire's items keep
 * its order. Rows are laid out as they come, in one pass: a row has the answer columns known once
 * it is seen, and one written before a later column appeared lacks it at its end (an empty
 * cell). What the layout keeps grows with the items, never with the rows.
 */
export class CsvLayout {
  private readonly columns: { itemId: string; unit: boolean }[] = [];
  private readonly items = new Set<string>();
  private readonly withUnits = new Set<string>();
  /** The answers of the row being laid out, by item (one map for every row). */
  private readonly byItem = new Map<string, Answer>();

  /** Answer columns so far: the width of the rows laid out from now on. */
  get answerColumns(): number {
    return this.columns.length;
  }

  private observe(answers: Answer[]): void {
    for (const a of answers) {
      if (typeof a.itemId !== 'string') continue;
      if (!this.items.has(a.itemId)) {
        this.items.add(a.itemId);
        this.columns.push({ itemId: a.itemId, unit: false });
      }
      if (a.unit !== undefined && !this.withUnits.has(a.itemId)) {
        this.withUnits.add(a.itemId);
        this.columns.push({ itemId: a.itemId, unit: true });
      }
    }
  }

  /** The header line for every column seen so far. */
  header(): string {
    const answers = this.columns.map((c) => `answer.${c.itemId}${c.unit ? '.unit' : ''}`);
    return `${[...CSV_FIXED_COLUMNS, 'data', 'invalid', ...answers].map(csvCell).join(',')}\n`;
  }

  /** The record's cells, without a line break, for the columns known once it is seen. */
  row(r: ReplayRecord): string {
    const e = (r.event ?? {}) as Record<string, unknown>;
    const actor = e.actor as Loose;
    const data = (e.data ?? {}) as Record<string, unknown>;
    const questionnaire = data.questionnaire as Loose;
    const device = data.device as Loose;
    const answers = answersOf(r);
    this.observe(answers);
    const fixed = [
      r.seq,
      r.subject,
      r.time,
      e.id,
      e.type,
      e.version,
      e.occurredAt,
      e.recordedAt,
      actor?.id,
      actor?.role,
      data.trialId,
      data.patientId,
      data.siteId,
      data.requestId,
      questionnaire?.id,
      questionnaire?.version,
      data.completedAt,
      device?.platform,
      device?.appVersion,
      restOf(data),
      r.invalid,
    ];
    const byItem = this.byItem;
    byItem.clear();
    for (const a of answers) if (typeof a.itemId === 'string') byItem.set(a.itemId, a);
    let line = fixed.map(csvCell).join(',');
    for (const { itemId, unit } of this.columns) {
      const a = byItem.get(itemId);
      line += `,${csvCell(unit ? a?.unit : a?.value)}`;
    }
    return line;
  }
}
