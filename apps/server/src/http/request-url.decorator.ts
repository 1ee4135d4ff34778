import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/**
 * The request's path and query as the client sent them (what pagination links are built from),
 * read from whichever HTTP adapter serves it: Express and Fastify both keep `originalUrl`.
 */
export const RequestUrl = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const request = context.switchToHttp().getRequest<{ originalUrl?: string; url: string }>();
  return request.originalUrl ?? request.url;
});
