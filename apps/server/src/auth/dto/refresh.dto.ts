import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';

export class RefreshDto {
  @ApiProperty({ description: 'A refresh token from login, register or a previous refresh.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  refresh: string;
}

export class LogoutDto {
  @ApiPropertyOptional({ description: 'The refresh token of the session to end.' })
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
