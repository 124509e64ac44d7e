import { openStore } from '@cohort/infra';
import { reportSubmitted } from '@cohort/infra/testing';
import { migrations } from '@cohort/edc/case-reports';
const store = process.argv[2] === 'pg' ? await openStore({ service: 'bench', databaseUrl: 'postgresql://postgres@127.0.0.1:5432/test', schema: 'micro_' + Date.now() }) : await openStore({ service: 'bench' });
await store.migrate('edc', migrations);
await store.exec(`CREATE TABLE IF NOT EXISTS cohort_inbox (consumer text NOT NULL, key text NOT NULL, stream_seq bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, key));
CREATE TABLE tp2 (trial_id text, patient_id text, PRIMARY KEY (trial_id, patient_id))`);
const N = 30000, B = 500;
const mk = () => Array.from({ length: N }, (_, i) => reportSubmitted({ trialId: 'B', patientId: 'P' + (i % 1000) }));
async function time(label, fn) { const evs = mk(); const t = performance.now(); for (let i = 0; i < N; i += B) await store.transaction(tx => fn(tx, evs.slice(i, i + B), i)); console.log(label.padEnd(30), Math.round(N / ((performance.now() - t) / 1000)), 'rows/s'); }
const cols = (c, i) => [c.map(e => e.id), c.map(e => e.data.requestId), c.map(e => e.data.trialId), c.map(e => e.data.patientId), c.map(e => e.data.questionnaire.id), c.map(e => e.data.questionnaire.version), c.map(e => JSON.stringify(e.data.answers)), c.map(e => e.data.completedAt), c.map(e => e.recordedAt), c.map((_, j) => i + j)];
const INS = `INSERT INTO case_reports (event_id, request_id, trial_id, patient_id, questionnaire_id, questionnaire_version, answers, completed_at, recorded_at, stream_seq) SELECT e, r, t, p, q, v, a::jsonb, c, rc, s FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::bigint[]) AS x(e, r, t, p, q, v, a, c, rc, s) ON CONFLICT DO NOTHING`;
const INSJ = `INSERT INTO case_reports (event_id, request_id, trial_id, patient_id, questionnaire_id, questionnaire_version, answers, completed_at, recorded_at, stream_seq) SELECT e, r, t, p, q, v, a, c, rc, s FROM jsonb_to_recordset($1::jsonb) AS x(e uuid, r uuid, t text, p text, q text, v text, a jsonb, c timestamptz, rc timestamptz, s bigint) ON CONFLICT DO NOTHING`;
const json = (c, i) => [JSON.stringify(c.map((e, j) => ({ e: e.id, r: e.data.requestId, t: e.data.trialId, p: e.data.patientId, q: e.data.questionnaire.id, v: e.data.questionnaire.version, a: e.data.answers, c: e.data.completedAt, rc: e.recordedAt, s: i + j })))];
for (let round = 0; round < 2; round++) {
await time('raw unnest', (tx, c, i) => tx.query(INS, cols(c, i)));
await time('raw json', (tx, c, i) => tx.query(INSJ, json(c, i)));
await time('inbox unnest', (tx, c, i) => tx.query(`INSERT INTO cohort_inbox (consumer, key, stream_seq) SELECT $1, k, s FROM unnest($2::text[], $3::bigint[]) AS t(k, s) ON CONFLICT DO NOTHING RETURNING key`, ['c', c.map(e => 'request:' + e.data.requestId), c.map((_, j) => i + j)]));
await time('inbox json', (tx, c, i) => tx.query(`INSERT INTO cohort_inbox (consumer, key, stream_seq) SELECT $1, k, s FROM json_to_recordset($2::json) AS t(k text, s bigint) ON CONFLICT DO NOTHING RETURNING key`, ['c', JSON.stringify(c.map((e, j) => ({ k: 'request:' + e.data.requestId, s: i + j })))]));
await time('patients upsert', (tx, c) => tx.query(`INSERT INTO trial_patients (trial_id, patient_id, reports) SELECT t, p, n FROM unnest($1::text[], $2::text[], $3::int[]) AS x(t, p, n) ON CONFLICT (trial_id, patient_id) DO UPDATE SET reports = trial_patients.reports + EXCLUDED.reports RETURNING trial_id, (xmax = 0) AS is_new`, [c.map(e => 'B'), c.map(e => e.data.patientId + ':' + round), c.map(() => 1)]));
await time('patients insert-only', (tx, c) => tx.query(`INSERT INTO tp2 (trial_id, patient_id) SELECT t, p FROM unnest($1::text[], $2::text[]) AS x(t, p) ON CONFLICT DO NOTHING RETURNING trial_id`, [c.map(e => 'B'), c.map(e => e.data.patientId)]));
}
await store.close();
