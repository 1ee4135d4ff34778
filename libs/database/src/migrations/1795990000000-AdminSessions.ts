import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. The AdminJS sign-in sessions (express-session through connect-pg-simple), kept in
 * PostgreSQL so that every API replica sees them and a restart signs nobody out. The columns are
 * the ones connect-pg-simple reads and writes; `expire` is indexed for its periodic prune.
 */
export class AdminSessions1795990000000 implements MigrationInterface {
  name = 'AdminSessions1795990000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "admin_sessions" (
        "sid" varchar NOT NULL,
        "sess" json NOT NULL,
        "expire" timestamptz NOT NULL,
        CONSTRAINT "admin_sessions_pkey" PRIMARY KEY ("sid")
      )
    `);
    await queryRunner.query(
      `CREATE INDEX "admin_sessions_expire_idx" ON "admin_sessions" ("expire")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "admin_sessions"`);
  }
}
