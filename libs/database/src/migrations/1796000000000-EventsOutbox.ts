import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. The events outbox (issue 15): rows inserted in the transaction of the change
 * they report, dispatched by a worker job. The partial index keeps the sweep's scan of
 * undispatched rows cheap however long the history grows.
 */
export class EventsOutbox1796000000000 implements MigrationInterface {
  name = 'EventsOutbox1796000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "events" (
        "id" character varying(40) NOT NULL,
        "user_id" integer NOT NULL,
        "type" character varying(50) NOT NULL,
        "data" jsonb NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "dispatched_at" TIMESTAMP WITH TIME ZONE,
        "attempts" integer NOT NULL DEFAULT 0,
        "consumed_by" character varying(100) array NOT NULL DEFAULT '{}',
        "last_error" text,
        CONSTRAINT "events_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "events_user_id_fkey" FOREIGN KEY ("user_id")
          REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )
    `);
    await queryRunner.query(
      `CREATE INDEX "events_undispatched_idx" ON "events" ("created_at") WHERE "dispatched_at" IS NULL`,
    );
    await queryRunner.query(`CREATE INDEX "events_user_idx" ON "events" ("user_id", "created_at")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "events"`);
  }
}
