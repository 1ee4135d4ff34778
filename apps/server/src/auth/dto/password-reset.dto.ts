import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class PasswordResetRequestDto {
  @ApiProperty({ example: 'alice@example.com', maxLength: 254 })
  @IsString()
  @MaxLength(254)
  @IsEmail({}, { message: 'email must be a valid email address' })
  email: string;
}

export class PasswordResetConfirmDto {
  @ApiProperty({
    example: 'Jx3q0mZ2cV9yYpL1sT7wq4n8bK6dR5eH0aU2fG9iC3o',
    description: 'The token of the reset email (in its link, or as the code).',
    maxLength: 200,
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  token: string;

  @ApiProperty({ example: 'Green-Harbour-Lantern-43' })
  @IsString()
  @MaxLength(256)
  new_password: string;

  @ApiProperty({ example: 'Green-Harbour-Lantern-43', description: 'The same password again.' })
  @IsString()
  @MaxLength(256)
  new_password2: string;
}
