import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** Every statement that reads or writes `scheduled_posts` (filled in by the query-layer work). */
@Injectable()
export class ScheduledPostQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}
}
