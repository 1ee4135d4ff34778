export * from './token-cipher.js';
