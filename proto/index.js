// @onair/proto: the real-time channel's messages (onair.channel.v1), generated from channel.proto.
import './long-as-number.js';
export * from './gen/channel.js';
