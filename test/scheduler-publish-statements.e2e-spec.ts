import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { PUBLISH_STATEMENTS } from '@app/database';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** The plan's scans of `relation` (the Update node names it too, and is not one). */
function scansOf(node: PlanNode, relation: string): PlanNode[] {
  const own =
    node['Relation Name'] === relation && node['Node Type'].endsWith('Scan') ? [node] : [];
  return [...own, ...(node.Plans ?? []).flatMap((child) => scansOf(child, relation))];
}

/**
 * Values for a statement's parameters, from their casts: a batch of two posts (2 and 4, version
 * 1) for the batched statements, post 2 for the single ones; a lease of two minutes.
 */
function valuesFor(text: string): string[] {
  const count = Math.max(...[...text.matchAll(/\$(\d+)/g)].map((match) => Number(match[1])));
  return Array.from({ length: count }, (_, index) => {
    const position = index + 1;
    const cast = new RegExp(`\\$${position}::(\\w+)(\\[\\])?`).exec(text);
    if (cast?.[2]) {
      const element =
        cast[1] === 'int' ? ['2', '4'] : cast[1] === 'jsonb' ? ['{}', '{}'] : ['x', 'y'];
      if (position === 2) return `'{1,1}'`;
      return `'{${element.map((value) => JSON.stringify(value)).join(',')}}'`;
    }
    if (position === 1) return '2';
    if (position === 2) return '1';
    return cast?.[1] === 'jsonb' ? "'{}'" : "'120000'";
  });
}

/**
 * A burst's publishes must each touch one row, found by its primary key, whatever the statistics
 * say: taken while nothing was scheduled (autovacuum's last pass, a quiet night), they make the
 * partial indexes on status look empty, and a statement PostgreSQL could serve from them would
 * scan every scheduled (or processing) post to find one: quadratic over a burst.
 */
describe('the publish statements', () => {
  let url: string;
  let client: pg.Client;

  beforeAll(async () => {
    url = await migratedScratchDatabase('image_automation_plans');
    client = new pg.Client({ connectionString: url });
    await client.connect();
    const {
      rows: [user],
    } = await client.query<{ id: number }>(
      `INSERT INTO users (username, email, password) VALUES ('plans', 'plans@example.com', 'x') RETURNING id`,
    );
    await client.query(
      `INSERT INTO scheduled_posts (user_id, platform, scheduled_time, status)
       SELECT $1, 'facebook', now() + g * interval '1 second', 'posted' FROM generate_series(1, 3000) g`,
      [user.id],
    );
    // Statistics while every post is posted, then a burst due (and one being published).
    await client.query('VACUUM ANALYZE scheduled_posts');
    await client.query(
      `UPDATE scheduled_posts SET status = CASE WHEN id % 2 = 0 THEN 'scheduled' ELSE 'processing' END`,
    );
  }, 60_000);
  afterAll(async () => {
    await client.end();
    await dropScratchDatabase(url);
  });

  it('find the post by its primary key, in generic and custom plans, never through a partial index on status', async () => {
    const {
      rows: [{ pk }],
    } = await client.query<{ pk: string }>(
      `SELECT c.relname AS pk FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE i.indrelid = 'scheduled_posts'::regclass AND i.indisprimary`,
    );
    expect(PUBLISH_STATEMENTS.length).toBeGreaterThanOrEqual(5);
    for (const statement of PUBLISH_STATEMENTS) {
      for (const mode of ['force_generic_plan', 'force_custom_plan']) {
        await client.query('BEGIN');
        try {
          await client.query(`SET LOCAL plan_cache_mode = ${mode}`);
          await client.query(`PREPARE publish_statement AS ${statement.text}`);
          const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
            `EXPLAIN (FORMAT JSON) EXECUTE publish_statement(${valuesFor(statement.text).join(', ')})`,
          );
          // The batched statements find their posts once to lock them, once to update them.
          const scans = scansOf(rows[0]['QUERY PLAN'][0].Plan, 'scheduled_posts');
          expect(scans.length).toBeGreaterThanOrEqual(1);
          expect({
            statement: statement.name,
            mode,
            indexes: scans.map((scan) => scan['Index Name']),
          }).toEqual({ statement: statement.name, mode, indexes: scans.map(() => pk) });
        } finally {
          await client.query('ROLLBACK');
          // Prepared statements outlive transactions.
          await client.query('DEALLOCATE ALL');
        }
      }
    }
  });
});
