import { BaseEntity, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A media prefix (`images/42/`) to delete from storage: written in the transaction that deletes
 * the rows its files belonged to (an account), removed once the files are gone. A deletion that
 * failed (storage unreachable) is retried by the sweep: the files never outlive the rows for long.
 */
@Entity({ name: 'media_purges' })
export class MediaPurge extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 255 })
  prefix: string;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ name: 'last_error', type: 'text', default: '' })
  lastError: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
