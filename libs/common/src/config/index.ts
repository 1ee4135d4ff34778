export * from './app-config.js';
export * from './duration.js';
export * from './load-config.js';
