export * from './config/index.js';
export * from './problem/index.js';
