import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. Webhook endpoints and their deliveries. The unique (endpoint, event) key keeps an
 * event delivered once per endpoint however often it is handed over; the partial index on pending
 * deliveries is the sweep's, which re-queues those whose job was lost.
 */
export class Webhooks1796001000000 implements MigrationInterface {
  name = 'Webhooks1796001000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "webhook_endpoints" (
        "id" SERIAL NOT NULL,
        "user_id" integer NOT NULL,
        "url" varchar(2048) NOT NULL,
        "description" varchar(500) NOT NULL DEFAULT '',
        "events" varchar(50) array NOT NULL DEFAULT '{}',
        "is_active" boolean NOT NULL DEFAULT true,
        "disabled_reason" varchar(500),
        "secret_encrypted" text NOT NULL,
        "previous_secret_encrypted" text,
        "previous_secret_expires_at" timestamptz,
        "delivery_count" integer NOT NULL DEFAULT 0,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "webhook_endpoints_user_fkey" FOREIGN KEY ("user_id")
          REFERENCES "users"("id") ON DELETE CASCADE
      )
    `);
    await queryRunner.query(
      `CREATE INDEX "webhook_endpoints_user_idx" ON "webhook_endpoints" ("user_id", "id")`,
    );
    await queryRunner.query(`
      CREATE TABLE "webhook_deliveries" (
        "id" SERIAL NOT NULL,
        "endpoint_id" integer NOT NULL,
        "event_id" varchar(64) NOT NULL,
        "event_type" varchar(50) NOT NULL,
        "occurred_at" timestamptz NOT NULL,
        "data" jsonb NOT NULL,
        "status" varchar(10) NOT NULL DEFAULT 'pending',
        "attempts" integer NOT NULL DEFAULT 0,
        "round_start" integer NOT NULL DEFAULT 0,
        "last_status_code" integer,
        "last_error" varchar(500),
        "next_attempt_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "delivered_at" timestamptz,
        CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "webhook_deliveries_endpoint_fkey" FOREIGN KEY ("endpoint_id")
          REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE
      )
    `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "webhook_deliveries_endpoint_event_key" ON "webhook_deliveries" ("endpoint_id", "event_id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "webhook_deliveries_endpoint_idx" ON "webhook_deliveries" ("endpoint_id", "id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "webhook_deliveries_pending_idx" ON "webhook_deliveries" ("next_attempt_at") WHERE status = 'pending'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
    await queryRunner.query(`DROP TABLE "webhook_endpoints"`);
  }
}
