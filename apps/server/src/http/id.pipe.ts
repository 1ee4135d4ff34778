import { Injectable, type PipeTransform } from '@nestjs/common';
import { NotFoundError } from '@app/common';

/** The largest id of our `integer` (int4) primary keys; a larger one would fail in PostgreSQL. */
export const MAX_ID = 2_147_483_647;

/**
 * `/things/{id}/` with an id that is not a positive integer in plain decimal (no `0x10`, `+16`,
 * `016`, spaces) within the column's range matches nothing: 404, as in DRF.
 */
@Injectable()
export class IdPipe implements PipeTransform<unknown, number> {
  transform(value: unknown): number {
    if (typeof value !== 'string' || !/^[1-9]\d{0,9}$/.test(value) || Number(value) > MAX_ID)
      throw new NotFoundError();
    return Number(value);
  }
}
