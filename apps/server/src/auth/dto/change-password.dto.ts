import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class ChangePasswordDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  old_password: string;

  @ApiProperty({ example: 'Green-Harbour-Lantern-43' })
  @IsString()
  @MaxLength(256)
  new_password: string;

  @ApiProperty({ example: 'Green-Harbour-Lantern-43' })
  @IsString()
  @MaxLength(256)
  new_password2: string;
}
