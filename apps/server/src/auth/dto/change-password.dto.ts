import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class ChangePasswordDto {
  @ApiProperty({ maxLength: 256, example: 'correct horse battery' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  old_password: string;

  @ApiProperty({ maxLength: 256, example: 'Green-Harbour-Lantern-43' })
  @IsString()
  @MaxLength(256)
  new_password: string;

  @ApiProperty({ maxLength: 256, example: 'Green-Harbour-Lantern-43' })
  @IsString()
  @MaxLength(256)
  new_password2: string;
}
