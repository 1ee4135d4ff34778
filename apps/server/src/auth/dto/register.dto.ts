import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export const USERNAME_PATTERN = /^[\w.@+-]+$/;

export class RegisterDto {
  @ApiProperty({
    example: 'alice',
    maxLength: 150,
    description: 'Letters, digits and @.+-_ only; unique whatever the case.',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(150)
  @Matches(USERNAME_PATTERN, {
    message: 'username may contain only letters, digits and @/./+/-/_ characters',
  })
  username: string;

  @ApiProperty({ example: 'alice@example.com', maxLength: 254 })
  @IsString()
  @MaxLength(254)
  @IsEmail({}, { message: 'email must be a valid email address' })
  email: string;

  @ApiProperty({
    maxLength: 256,
    example: 'Blue-Harbour-Lantern-42',
    description: "Checked like Django's four validators.",
  })
  @IsString()
  @MaxLength(256)
  password: string;

  @ApiProperty({
    maxLength: 256,
    example: 'Blue-Harbour-Lantern-42',
    description: 'The same password again.',
  })
  @IsString()
  @MaxLength(256)
  password2: string;

  @ApiPropertyOptional({ example: 'Alice', maxLength: 150 })
  @IsOptional()
  @IsString()
  @MaxLength(150)
  first_name?: string;

  @ApiPropertyOptional({ example: 'Martin', maxLength: 150 })
  @IsOptional()
  @IsString()
  @MaxLength(150)
  last_name?: string;
}
