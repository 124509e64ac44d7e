import { openStore } from '@cohort/infra';
import { reportSubmitted } from '@cohort/infra/testing';
import { migrations } from '@cohort/edc/case-reports';
const store = process.argv[2] === 'pg' ? await openStore({ service: 'bench', databaseUrl: 'postgresql://postgres@127.0.0.1:5432/test', schema: 'micro_' + Date.now() }) : await openStore({ service: 'bench' });
await store.migrate('edc', migrations);
await store.exec(`CREATE TABLE IF NOT EXISTS cohort_inbox (consumer text NOT NULL, key text NOT NULL, stream_seq bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, key))`);
const N = 20000, B = 500;
const mk = () => Array.from({ length: N }, (_, i) => reportSubmitted({ trialId: 'B', patientId: 'P' + (i % 1000) }));
async function time(label, fn) { const evs = mk(); const t = performance.now(); for (let i = 0; i < N; i += B) await store.transaction(tx => fn(tx, evs.slice(i, i + B), i)); console.log(label, Math.round(N / ((performance.now() - t) / 1000)), 'rows/s'); }
const cols = (c, i) => [c.map(e => e.id), c.map(e => e.data.requestId), c.map(e => e.data.trialId), c.map(e => e.data.patientId), c.map(e => e.data.questionnaire.id), c.map(e => e.data.questionnaire.version), c.map(e => JSON.stringify(e.data.answers)), c.map(e => e.data.completedAt), c.map(e => e.recordedAt), c.map((_, j) => i + j)];
const INS = (ret) => `INSERT INTO case_reports (event_id, request_id, trial_id, patient_id, questionnaire_id, questionnaire_version, answers, completed_at, recorded_at, stream_seq) SELECT e, r, t, p, q, v, a::jsonb, c, rc, s FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::bigint[]) AS x(e, r, t, p, q, v, a, c, rc, s) ON CONFLICT DO NOTHING ${ret}`;
await time('raw insert', (tx, c, i) => tx.query(INS(''), cols(c, i)));
await time('insert returning full', (tx, c, i) => tx.query(INS('RETURNING trial_id, patient_id, completed_at, recorded_at'), cols(c, i)));
await time('insert returning event_id', (tx, c, i) => tx.query(INS('RETURNING event_id'), cols(c, i)));
await time('insert returning event_id::text', (tx, c, i) => tx.query(INS('RETURNING event_id::text'), cols(c, i)));
await time('inbox', (tx, c, i) => tx.query(`INSERT INTO cohort_inbox (consumer, key, stream_seq) SELECT $1, k, s FROM unnest($2::text[], $3::bigint[]) AS t(k, s) ON CONFLICT DO NOTHING RETURNING key`, ['c', c.map(e => 'request:' + e.data.requestId), c.map((_, j) => i + j)]));
await time('inbox no returning', (tx, c, i) => tx.query(`INSERT INTO cohort_inbox (consumer, key, stream_seq) SELECT $1, k, s FROM unnest($2::text[], $3::bigint[]) AS t(k, s) ON CONFLICT DO NOTHING`, ['c', c.map(e => 'request:' + e.data.requestId), c.map((_, j) => i + j)]));
await store.close();
