// Preloaded into a copy of the app (NODE_OPTIONS=--import <this file>) to write down every
// statement it sends PostgreSQL: one JSON line { text, values } per query, appended to the file
// BENCH_SQL_CAPTURE names. pg is a CommonJS module, loaded once: TypeORM's require('pg') gets
// the very Client class patched here. Only for checking which SQL the app sends; never in a
// measured server.
import { appendFileSync } from 'node:fs';
import pg from 'pg';

const file = process.env.BENCH_SQL_CAPTURE;
if (file) {
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function capturedQuery(config, values, callback) {
    const text = typeof config === 'string' ? config : config?.text;
    const params = Array.isArray(values) ? values : config?.values;
    if (typeof text === 'string') {
      appendFileSync(file, `${JSON.stringify({ text, values: params ?? [] })}\n`);
    }
    return query.call(this, config, values, callback);
  };
}
