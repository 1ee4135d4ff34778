import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { IsInt, IsOptional, Min } from 'class-validator';
import { NotFoundError } from '@app/common';
import { ToInteger } from './transforms.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** `?page=N&page_size=M` as DRF reads them; page_size above 100 is clamped, not refused. */
export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, default: 1 })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  page?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  page_size?: number;
}

export interface PageWindow {
  page: number;
  pageSize: number;
  offset: number;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export function pageWindow(query: PageQuery): PageWindow {
  const page = query.page ?? 1;
  const pageSize = Math.min(query.page_size ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  return { page, pageSize, offset: (page - 1) * pageSize };
}

/**
 * The DRF page envelope, with absolute next/previous links built on PUBLIC_BASE_URL from the
 * request's own path and query. A page past the end is 404, as in DRF (page 1 always exists).
 */
export function toPage<T>(
  baseUrl: string,
  originalUrl: string,
  window: PageWindow,
  count: number,
  results: T[],
): Page<T> {
  const lastPage = Math.max(1, Math.ceil(count / window.pageSize));
  if (window.page > lastPage) throw new NotFoundError('page');
  const link = (page: number): string => {
    const url = new URL(originalUrl, baseUrl);
    if (page === 1) url.searchParams.delete('page');
    else url.searchParams.set('page', String(page));
    return `${baseUrl}${url.pathname}${url.search}`;
  };
  return {
    count,
    next: window.page < lastPage ? link(window.page + 1) : null,
    previous: window.page > 1 ? link(window.page - 1) : null,
    results,
  };
}

/** Documents a paginated answer of `model`, and its conditional GET (ETag, If-None-Match, 304). */
export function ApiPage(model: new () => object) {
  return applyDecorators(
    ApiExtraModels(model),
    ApiHeader({
      name: 'If-None-Match',
      required: false,
      description:
        'The `ETag` of a page received before: while that page is unchanged the answer is 304 without a body.',
      schema: { type: 'string', example: 'W/"6a52-5Hk2mJYzqZ0Sx1bX0z3c1m7Qk2E"' },
    }),
    ApiResponse({
      status: 304,
      description: 'Not Modified: the page is the one whose `ETag` was sent in `If-None-Match`.',
    }),
    ApiOkResponse({
      description:
        'One page of the list, in its order, with the total `count` and the links to the next and previous pages.',
      headers: {
        ETag: {
          description: 'A weak validator of this page, for `If-None-Match`.',
          schema: { type: 'string', example: 'W/"6a52-5Hk2mJYzqZ0Sx1bX0z3c1m7Qk2E"' },
        },
      },
      schema: {
        type: 'object',
        required: ['count', 'next', 'previous', 'results'],
        properties: {
          count: { type: 'integer', example: 42 },
          next: {
            type: 'string',
            format: 'uri',
            nullable: true,
            example: 'http://localhost:3000/api/images/?page=3',
          },
          previous: {
            type: 'string',
            format: 'uri',
            nullable: true,
            example: 'http://localhost:3000/api/images/',
          },
          results: { type: 'array', items: { $ref: getSchemaPath(model) } },
        },
      },
    }),
  );
}

/** The whole of a list endpoint: the window from the query, one load, the DRF envelope. */
export async function paginate<Row, Out>(
  baseUrl: string,
  originalUrl: string,
  query: PageQuery,
  load: (window: PageWindow) => Promise<{ count: number; rows: Row[] }>,
  present: (row: Row) => Out,
): Promise<Page<Out>> {
  const window = pageWindow(query);
  const { count, rows } = await load(window);
  return toPage(baseUrl, originalUrl, window, count, rows.map(present));
}
