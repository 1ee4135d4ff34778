import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';

/** The shape of a refresh token (a JWT), for the documentation. */
const REFRESH_TOKEN_EXAMPLE =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwidHlwIjoicmVmcmVzaCJ9.c2lnbmF0dXJl';

export class RefreshDto {
  @ApiProperty({
    example: REFRESH_TOKEN_EXAMPLE,
    description: 'A refresh token from login, register or a previous refresh.',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  refresh: string;
}

export class LogoutDto {
  @ApiPropertyOptional({
    example: REFRESH_TOKEN_EXAMPLE,
    description: 'The refresh token of the session to end.',
  })
  @ValidateIf((body: LogoutDto) => body.refresh === undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  refresh_token?: string;

  @ApiPropertyOptional({ description: 'Accepted in place of refresh_token.' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  refresh?: string;
}
