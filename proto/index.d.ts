export * from './gen/channel.js';
