import { Injectable, type PipeTransform } from '@nestjs/common';
import { NotFoundError } from '@app/common';

/** `/things/{id}/` with an id that is not a positive integer matches nothing: 404, as in DRF. */
@Injectable()
export class IdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^[1-9]\d{0,9}$/.test(value) || Number(value) > 2_147_483_647) throw new NotFoundError();
    return Number(value);
  }
}
