export * from './config.js';
export * from './errors.js';
export * from './log.js';
export * from './db/database.js';
