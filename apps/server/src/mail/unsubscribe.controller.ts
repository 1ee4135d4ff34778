import { Body, Controller, Get, Header, HttpCode, Post, Query } from '@nestjs/common';
import { ApiConsumes, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { FieldValidationError } from '@app/common';
import { NotificationPreferenceQueries } from '@app/database';
import { AcceptsForm } from '../http/accepts-form.decorator.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { Public } from '../http/public.decorator.js';
import { OneClickUnsubscribeDto, UnsubscribeQuery } from './dto/unsubscribe.dto.js';
import { MailTemplates } from './mail-templates.js';
import { NOTIFICATION_LABELS, UNSUBSCRIBE_PATH, UnsubscribeLinks } from './unsubscribe-links.js';

/** A page with no scripts, no outside resources, posting only to itself, never framed. */
const PAGE_SECURITY =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const HTML_EXAMPLE = '<!DOCTYPE html><html lang="en">…<h1>You are unsubscribed</h1>…</html>';

/**
 * RFC 8058 one-click unsubscribe, linked from every notification (`List-Unsubscribe`). No
 * sign-in: the signed token is the authority. GET only shows a confirmation page whose button
 * POSTs (link scanners and prefetchers GET every link in a mail, and must not unsubscribe
 * anyone); the POST, from that button or from the mail provider, turns the switch off.
 */
@ApiTags('mail')
@Controller('api/mail/unsubscribe')
export class UnsubscribeController {
  constructor(
    private readonly links: UnsubscribeLinks,
    private readonly preferences: NotificationPreferenceQueries,
    private readonly templates: MailTemplates,
  ) {}

  @Public()
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Content-Security-Policy', PAGE_SECURITY)
  @ApiOperation({
    summary: 'Unsubscribe page',
    description:
      "The page the unsubscribe link of a notification email opens: it names the notification and has a button that POSTs the one-click unsubscribe. It changes nothing by itself (link scanners and prefetchers GET every link of a mail). No sign-in: the link's signed token names the user and the notification.",
  })
  @ApiProduces('text/html')
  @ApiOkResponse({
    description: 'An HTML page whose button POSTs the one-click unsubscribe.',
    content: { 'text/html': { schema: { type: 'string' }, example: HTML_EXAMPLE } },
  })
  @ApiProblems(400)
  confirm(@Query() query: UnsubscribeQuery): string {
    const { kind } = this.verify(query.token);
    return this.templates.page('unsubscribe-confirm', {
      kind_label: NOTIFICATION_LABELS[kind],
      action: `${UNSUBSCRIBE_PATH}?token=${encodeURIComponent(query.token)}`,
    });
  }

  @Public()
  @Post()
  @HttpCode(200)
  @AcceptsForm()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Content-Security-Policy', PAGE_SECURITY)
  @ApiOperation({
    summary: 'Unsubscribe in one click (RFC 8058)',
    description:
      "Turns off the email notification the link's signed token names (`email_notifications` of the profile), with no sign-in: what a mail provider POSTs when its reader clicks unsubscribe (`List-Unsubscribe=One-Click`, form-encoded), and what the page's button sends. Unsubscribing again answers the same.",
  })
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiProduces('text/html')
  @ApiOkResponse({
    description: 'Unsubscribed (also when already): an HTML page saying so.',
    content: { 'text/html': { schema: { type: 'string' }, example: HTML_EXAMPLE } },
  })
  @ApiProblems(400, 415)
  async unsubscribe(
    @Query() query: UnsubscribeQuery,
    @Body() _body: OneClickUnsubscribeDto,
  ): Promise<string> {
    const { userId, kind } = this.verify(query.token);
    // A deleted user's link has nothing left to turn off: answered the same.
    await this.preferences.switchOff(userId, kind);
    return this.templates.page('unsubscribed', { kind_label: NOTIFICATION_LABELS[kind] });
  }

  private verify(token: string) {
    const verified = this.links.verify(token);
    if (!verified) throw FieldValidationError.of('token', 'This unsubscribe link is not valid.');
    return verified;
  }
}
