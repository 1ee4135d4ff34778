import { ApiProperty, ApiPropertyOptional, PartialType, PickType } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import {
  ACCOUNT_STATUSES,
  type AccountStatus,
  SOCIAL_PLATFORMS,
  type SocialPlatform,
} from '@app/database';
import { OptionalNotNull } from '../../http/transforms.js';

export class CreateAccountDto {
  @ApiProperty({ example: 'instagram', enum: SOCIAL_PLATFORMS })
  @IsIn(SOCIAL_PLATFORMS)
  platform: SocialPlatform;

  @ApiProperty({
    example: '17841400000000000',
    description: 'Instagram user id, Facebook page id, X user id, LinkedIn URN, TikTok open_id.',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  account_id: string;

  @ApiPropertyOptional({ maxLength: 100, example: 'My shop' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(100)
  display_name?: string;

  @ApiProperty({
    example: 'EAAGm0PX4ZCpsBAKZCZCvZBZAZCx3',
    writeOnly: true,
    description: 'Stored encrypted; never returned.',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  access_token: string;

  @ApiPropertyOptional({
    example: 'rt-8f14e45fceea167a',
    writeOnly: true,
    nullable: true,
    description: 'Stored encrypted; never returned.',
  })
  @OptionalNotNull()
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  refresh_token?: string;

  @ApiPropertyOptional({
    example: '2027-01-28T00:00:00Z',
    description: 'When the access token expires, if the platform said.',
  })
  @OptionalNotNull()
  @IsISO8601({ strict: true })
  expires_at?: string;
}

/** PATCH: reconnecting (new tokens) makes the account active again. */
export class UpdateAccountDto extends PartialType(
  PickType(CreateAccountDto, [
    'display_name',
    'access_token',
    'refresh_token',
    'expires_at',
  ] as const),
  { skipNullProperties: false },
) {
  @ApiPropertyOptional({
    example: 'active',
    enum: ['active', 'disabled'],
    description: 'Disable or re-enable the account.',
  })
  @OptionalNotNull()
  @IsIn(['active', 'disabled'])
  status?: Extract<AccountStatus, 'active' | 'disabled'>;
}

export class AccountResponse {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty({ example: 'instagram', enum: SOCIAL_PLATFORMS }) platform: string;
  @ApiProperty() account_id: string;
  @ApiProperty() display_name: string;
  @ApiProperty({ nullable: true, type: String }) expires_at: string | null;
  @ApiProperty({ example: 'active', enum: ACCOUNT_STATUSES }) status: string;
  @ApiProperty({
    description: 'Whether a refresh token is stored (the token itself never is returned).',
  })
  has_refresh_token: boolean;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;
}
