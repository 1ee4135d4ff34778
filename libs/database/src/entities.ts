import { Profile } from './profile/profile.entity.js';
import { RefreshToken } from './refresh-token/refresh-token.entity.js';
import { TokenFamily } from './token-family/token-family.entity.js';
import { User } from './user/user.entity.js';

/** Every entity, listed explicitly: globs don't survive ESM and the jest/tsc layouts. */
export const ENTITIES = [User, Profile, TokenFamily, RefreshToken];
