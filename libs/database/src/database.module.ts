import { Global, Module } from '@nestjs/common';
import { QUERIES } from './queries.js';

/**
 * The query layer: one injectable `*Queries` class per entity that has more than trivial
 * queries, next to the entity. Features call these named queries; only libs/database writes SQL.
 * Global, so every feature module can inject them (TypeORM's DataSource is global too).
 */
@Global()
@Module({ providers: [...QUERIES], exports: [...QUERIES] })
export class DatabaseModule {}
