export * from './advisory-lock.js';
export * from './data-source-options.js';
export * from './entities.js';
export * from './migrations/index.js';
export * from './profile/profile.entity.js';
export * from './refresh-token/refresh-token.entity.js';
export * from './token-family/token-family.entity.js';
export * from './user/user.entity.js';
