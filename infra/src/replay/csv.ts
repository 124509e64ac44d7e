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

/** A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break. */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The wide layout of questionnaire answers: one `answer.<itemId>` column per item any row
 * answers (and `answer.<itemId>.unit` where any answer of it carries a unit), so the columns are
 * known only once every row has been seen. `observe` every record of a first pass (what it keeps
 * grows with the items, not with the rows), then write the header and the rows.
 */
export class CsvLayout {
  private readonly items = new Set<string>();
  private readonly withUnits = new Set<string>();
  private answerColumns: { itemId: string; unit: boolean }[] | null = null;

  observe(r: ReplayRecord): void {
    for (const a of answersOf(r)) {
      if (typeof a.itemId !== 'string') continue;
      this.items.add(a.itemId);
      if (a.unit !== undefined) this.withUnits.add(a.itemId);
    }
  }

  private columns(): { itemId: string; unit: boolean }[] {
    this.answerColumns ??= [...this.items]
      .sort()
      .flatMap((itemId) => [
        { itemId, unit: false },
        ...(this.withUnits.has(itemId) ? [{ itemId, unit: true }] : []),
      ]);
    return this.answerColumns;
  }

  header(): string {
    const answers = this.columns().map((c) => `answer.${c.itemId}${c.unit ? '.unit' : ''}`);
    return `${[...CSV_FIXED_COLUMNS, ...answers, 'data', 'invalid'].map(csvCell).join(',')}\n`;
  }

  row(r: ReplayRecord): string {
    const e = (r.event ?? {}) as Record<string, unknown>;
    const actor = e.actor as Loose;
    const data = (e.data ?? {}) as Record<string, unknown>;
    const questionnaire = data.questionnaire as Loose;
    const device = data.device as Loose;
    const byItem = new Map<string, Answer>();
    for (const a of answersOf(r)) if (typeof a.itemId === 'string') byItem.set(a.itemId, a);
    const rest = Object.fromEntries(Object.entries(data).filter(([k]) => !DATA_IN_COLUMNS.has(k)));
    const cells = [
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
      ...this.columns().map(({ itemId, unit }) => {
        const a = byItem.get(itemId);
        return unit ? a?.unit : a?.value;
      }),
      Object.keys(rest).length > 0 ? rest : undefined,
      r.invalid,
    ];
    return `${cells.map(csvCell).join(',')}\n`;
  }
}
