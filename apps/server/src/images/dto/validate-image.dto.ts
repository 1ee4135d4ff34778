import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength } from 'class-validator';
import { OptionalNotNull } from '../../http/transforms.js';

export class ValidateImageDto {
  @ApiProperty({ enum: ['validate', 'reject'], example: 'validate' })
  @IsIn(['validate', 'reject'])
  action: 'validate' | 'reject';

  @ApiPropertyOptional({ maxLength: 1000, example: 'Good light; ready to post.' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(1000)
  validation_notes?: string;
}
