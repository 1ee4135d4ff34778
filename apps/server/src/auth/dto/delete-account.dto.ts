import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class DeleteAccountDto {
  @ApiProperty({
    maxLength: 256,
    example: 'correct horse battery',
    description: 'Your current password: deleting the account takes it, as changing it does.',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  password: string;
}
