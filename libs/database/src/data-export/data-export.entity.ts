import {
  BaseEntity,
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  UpdateDateColumn,
} from 'typeorm';
import { User } from '../user/user.entity.js';

/** pending → running → ready → expired, or failed; pending and running are "running" (one per user). */
export const EXPORT_STATUSES = ['pending', 'running', 'ready', 'failed', 'expired'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

const bigintAsNumber = {
  to: (value: number | null) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

/**
 * One export of a user's data: a ZIP the worker streams into media storage under `storageKey`,
 * downloadable through a signed URL until `expiresAt`, then deleted by the sweep (`expired`).
 */
@Entity({ name: 'data_exports' })
export class DataExport extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: ExportStatus;

  @Column({ name: 'include_media', type: 'boolean', default: false })
  includeMedia: boolean;

  /** 0–100; 100 only once ready. */
  @Column({ type: 'smallint', default: 0 })
  progress: number;

  /** Bytes of the ZIP, once ready. */
  @Column({ type: 'bigint', nullable: true, transformer: bigintAsNumber })
  size: number | null;

  @Column({ name: 'storage_key', type: 'varchar', length: 255, nullable: true })
  storageKey: string | null;

  /** Why it failed; empty otherwise. */
  @Column({ type: 'text', default: '' })
  error: string;

  /** Builds started: a build interrupted (worker killed) starts again from the beginning. */
  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
