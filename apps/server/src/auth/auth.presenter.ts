import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  effectiveEmailNotifications,
  type EmailNotifications,
  IMAGE_STYLES,
  type Profile,
  type User,
} from '@app/database';

export class EmailNotificationsFields implements EmailNotifications {
  @ApiProperty({
    example: true,
    description: 'A scheduled post failed, or its outcome is unknown.',
  })
  post_failed: boolean;
  @ApiProperty({ example: true, description: 'A connected account must be connected again.' })
  account_reconnect_required: boolean;
  @ApiProperty({ example: true, description: 'A run of a recurring schedule was skipped.' })
  schedule_run_skipped: boolean;
  @ApiProperty({ example: true, description: 'A webhook endpoint was disabled.' })
  webhook_disabled: boolean;
  @ApiProperty({
    example: false,
    description: 'Monday morning: last week, published and how it did.',
  })
  weekly_digest: boolean;
}

export class ProfileFields {
  @ApiProperty({ example: '' }) bio: string;
  @ApiProperty({ nullable: true, type: String, description: 'Signed, expiring URL.' }) avatar:
    string | null;
  @ApiProperty({ example: '' }) phone_number: string;
  @ApiProperty({ example: '' }) instagram_username: string;
  @ApiProperty({ example: '' }) facebook_page_id: string;
  @ApiProperty({ example: '' }) twitter_username: string;
  @ApiProperty({ enum: IMAGE_STYLES }) default_image_style: string;
  @ApiProperty() auto_validate_images: boolean;
  @ApiProperty({ example: 'UTC' }) timezone: string;
  @ApiProperty({ type: EmailNotificationsFields }) email_notifications: EmailNotificationsFields;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;
}

export class UserResponse {
  @ApiProperty({ type: 'integer', example: 1 }) id: number;
  @ApiProperty({ example: 'alice' }) username: string;
  @ApiProperty({ example: 'alice@example.com' }) email: string;
  @ApiProperty({ example: 'Alice' }) first_name: string;
  @ApiProperty({ example: 'Martin' }) last_name: string;
  @ApiProperty({ type: ProfileFields }) profile: ProfileFields;
  @ApiProperty() date_joined: string;
}

export class ProfileResponse extends ProfileFields {
  @ApiProperty({ readOnly: true }) username: string;
  @ApiProperty() email: string;
  @ApiProperty() first_name: string;
  @ApiProperty() last_name: string;
}

export class TokenPairResponse {
  @ApiProperty({ description: 'Long-lived; exchange it at token/refresh/.' }) refresh: string;
  @ApiProperty({ description: 'Short-lived bearer token.' }) access: string;
}

export class RegisterResponse {
  @ApiProperty({ type: UserResponse }) user: UserResponse;
  @ApiProperty({ type: TokenPairResponse }) tokens: TokenPairResponse;
  @ApiProperty({ example: 'User registered successfully.' }) message: string;
}

export class MessageResponse {
  @ApiProperty() message: string;
}

export class RefreshResponse {
  @ApiProperty() access: string;
  @ApiPropertyOptional({ description: 'The rotated refresh token; the one sent is now used up.' })
  refresh: string;
}

type AvatarUrl = (key: string | null) => string | null;

export function presentProfileFields(profile: Profile, avatarUrl: AvatarUrl): ProfileFields {
  return {
    bio: profile.bio,
    avatar: avatarUrl(profile.avatar),
    phone_number: profile.phoneNumber,
    instagram_username: profile.instagramUsername,
    facebook_page_id: profile.facebookPageId,
    twitter_username: profile.twitterUsername,
    default_image_style: profile.defaultImageStyle,
    auto_validate_images: profile.autoValidateImages,
    timezone: profile.timezone,
    email_notifications: effectiveEmailNotifications(profile.emailNotifications),
    created_at: profile.createdAt.toISOString(),
    updated_at: profile.updatedAt.toISOString(),
  };
}

/** Never includes the password hash: the entity's column is not even selected by default. */
export function presentUser(user: User & { profile: Profile }, avatarUrl: AvatarUrl): UserResponse {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    profile: presentProfileFields(user.profile, avatarUrl),
    date_joined: user.dateJoined.toISOString(),
  };
}

export function presentProfile(
  user: User & { profile: Profile },
  avatarUrl: AvatarUrl,
): ProfileResponse {
  return {
    username: user.username,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    ...presentProfileFields(user.profile, avatarUrl),
  };
}
