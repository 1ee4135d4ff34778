import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. `events.created_at` becomes the clock at the insert (`clock_timestamp()`) rather
 * than the transaction's start (`now()`): two events recorded by one change (an auto-validated
 * image is generated, then validated) keep the order they were recorded in. A migration of its
 * own because EventsOutbox was already merged.
 */
export class EventsCreatedAtClock1796000000001 implements MigrationInterface {
  name = 'EventsCreatedAtClock1796000000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "events" ALTER COLUMN "created_at" SET DEFAULT clock_timestamp()`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "events" ALTER COLUMN "created_at" SET DEFAULT now()`);
  }
}
