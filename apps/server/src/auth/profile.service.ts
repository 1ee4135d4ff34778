import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig, FieldValidationError } from '@app/common';
import {
  NotificationPreferenceQueries,
  type ProfileChanges,
  type UserDetails,
  UserQueries,
} from '@app/database';
import { MEDIA_STORAGE, type MediaStorage } from '../media/media-storage.js';
import { loadSharp } from '../media/sharp.js';
import { AvatarUploadLimit } from './avatar-upload-limit.service.js';
import { uniqueViolationAsFieldError, type UserWithProfile } from './user-accounts.js';
import type { PatchProfileDto } from './dto/profile.dto.js';

const AVATAR_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif']);
const AVATAR_MAX_SIDE = 1024;

export interface AvatarUpload {
  buffer: Buffer;
}

@Injectable()
export class ProfileService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: UserQueries,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly uploads: AvatarUploadLimit,
    private readonly preferences: NotificationPreferenceQueries,
  ) {}

  /**
   * Applies the given fields (PUT has already required its own) in one transaction. A new avatar
   * is written before the rows change and the old file removed only after they have.
   */
  async update(
    user: UserWithProfile,
    dto: PatchProfileDto,
    avatar?: AvatarUpload,
  ): Promise<UserWithProfile> {
    if (dto.username !== undefined && dto.username !== user.username) {
      throw FieldValidationError.of('username', 'username is read-only.');
    }
    if (avatar) await this.uploads.take(user.id);
    const newAvatarKey = avatar ? await this.storeAvatar(user.id, avatar) : undefined;
    const oldAvatarKey = user.profile.avatar;
    const replacesAvatar = newAvatarKey !== undefined || dto.avatar === null;
    try {
      await this.dataSource.transaction(async (manager) => {
        if (dto.email !== undefined && (await this.users.emailTaken(dto.email, user.id, manager))) {
          throw FieldValidationError.of('email', 'A user with that email already exists.');
        }
        const userChanges: UserDetails = pickDefined({
          email: dto.email,
          firstName: dto.first_name,
          lastName: dto.last_name,
        });
        if (Object.keys(userChanges).length > 0) {
          await this.users.updateDetails(user.id, userChanges, manager).catch((error: unknown) => {
            throw uniqueViolationAsFieldError(error) ?? error;
          });
        }
        const profileChanges: ProfileChanges = pickDefined({
          bio: dto.bio,
          phoneNumber: dto.phone_number,
          instagramUsername: dto.instagram_username,
          facebookPageId: dto.facebook_page_id,
          twitterUsername: dto.twitter_username,
          defaultImageStyle: dto.default_image_style,
          autoValidateImages: dto.auto_validate_images,
          timezone: dto.timezone,
        });
        if (replacesAvatar) profileChanges.avatar = newAvatarKey ?? null;
        // Saved even when empty so updated_at records the request.
        await this.users.updateProfile(user.id, profileChanges, new Date(), manager);
        const switches = pickDefined({ ...dto.email_notifications });
        if (Object.keys(switches).length > 0)
          await this.preferences.merge(user.id, switches, manager);
      });
    } catch (error) {
      if (newAvatarKey) await this.storage.delete(newAvatarKey);
      throw error;
    }
    if (replacesAvatar && oldAvatarKey) await this.storage.delete(oldAvatarKey);
    return this.reload(user.id);
  }

  reload(userId: number): Promise<UserWithProfile> {
    return this.users.withProfile(userId);
  }

  private async storeAvatar(userId: number, upload: AvatarUpload): Promise<string> {
    const maxPixels = this.config.images.maxPixels;
    let encoded: { bytes: Buffer; extension: string } | TooManyPixels;
    try {
      encoded = await reencodeAvatar(upload.buffer, maxPixels);
    } catch {
      throw FieldValidationError.of('avatar', 'Upload a valid image: JPEG, PNG, WebP or GIF.');
    }
    if ('pixels' in encoded) {
      throw FieldValidationError.of(
        'avatar',
        `The image is ${encoded.width}×${encoded.height} pixels; the largest accepted is ${maxPixels.toLocaleString('en-US')} pixels.`,
      );
    }
    const key = `avatars/${userId}/${randomUUID()}.${encoded.extension}`;
    await this.storage.put(key, encoded.bytes);
    return key;
  }
}

function pickDefined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

interface TooManyPixels {
  width: number;
  height: number;
  pixels: number;
}

/**
 * Re-encoded, so what is stored is a clean image: no EXIF location, no polyglot payload. The
 * header is read first (no pixels decoded) so that a file over the pixel limit is named as such
 * instead of tying up one of libuv's few threads decoding it.
 */
async function reencodeAvatar(
  input: Buffer,
  maxPixels: number,
): Promise<{ bytes: Buffer; extension: string } | TooManyPixels> {
  const sharp = await loadSharp();
  const { format, width = 0, height = 0 } = await sharp(input).metadata();
  if (!format || !AVATAR_FORMATS.has(format))
    throw new Error(`not an accepted image format: ${format}`);
  if (width * height > maxPixels) return { width, height, pixels: width * height };
  const pipeline = sharp(input, { limitInputPixels: maxPixels })
    .rotate()
    .resize(AVATAR_MAX_SIDE, AVATAR_MAX_SIDE, { fit: 'inside', withoutEnlargement: true });
  return format === 'jpeg'
    ? { bytes: await pipeline.jpeg({ quality: 88 }).toBuffer(), extension: 'jpg' }
    : { bytes: await pipeline.png().toBuffer(), extension: 'png' };
}
