import { SetMetadata } from '@nestjs/common';

export const ACCEPTS_FORM = 'acceptsForm';

/**
 * The endpoint takes application/x-www-form-urlencoded as well as JSON. Only where a client
 * that cannot send JSON calls it: RFC 8058's one-click unsubscribe, POSTed by mail providers.
 * body-parsing.ts parses such bodies on FORM_BODY_PATHS only.
 */
export const AcceptsForm = () => SetMetadata(ACCEPTS_FORM, true);
