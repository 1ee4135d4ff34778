import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class LoginDto {
  @ApiProperty({ example: 'alice', description: 'The username or the email address.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(254)
  username: string;

  @ApiProperty({ maxLength: 256, example: 'Blue-Harbour-Lantern-42' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  password: string;
}
