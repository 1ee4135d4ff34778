import { ApiProperty } from '@nestjs/swagger';
import { Equals, IsNotEmpty, IsString, MaxLength } from 'class-validator';

export const UNSUBSCRIBE_TOKEN_EXAMPLE =
  '42.post_failed.q8mX3Yb1kQm2bZbW1x0lq0yC8c3m8t8uV4o2J9dYf3E';

export class UnsubscribeQuery {
  @ApiProperty({
    example: UNSUBSCRIBE_TOKEN_EXAMPLE,
    description: 'The signed token of the link in the email (user and notification).',
    maxLength: 200,
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  token: string;
}

/** RFC 8058: what a mail provider POSTs when the reader clicks its unsubscribe button. */
export class OneClickUnsubscribeDto {
  @ApiProperty({ enum: ['One-Click'], example: 'One-Click' })
  @Equals('One-Click', { message: 'List-Unsubscribe must be One-Click' })
  'List-Unsubscribe': string;
}
