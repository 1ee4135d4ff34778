export * from './cache/index.js';
export * from './config/index.js';
export * from './crypto/index.js';
export * from './problem/index.js';
