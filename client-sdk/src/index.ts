// @onair/client-sdk: publish to OnAir over WHIP, play with WebRTC (WHEP) falling back to HLS/DASH,
// join a stream's real-time channel, and call its HTTP API (incl. wallet and tips) from a browser.
export { publish, SIMULCAST_ENCODINGS, type PublishOptions, type Publisher } from './whip.js';
export { playWhep, type WhepOptions, type PlayOptions, type Player, type EndReason } from './whep.js';
export {
  play,
  type PlayerOptions,
  type StreamPlayer,
  type PlayerState,
  type Transport,
  type Latency,
  type Quality,
  type PlayerModules,
} from './player.js';
export {
  channel,
  REACTIONS,
  type Channel,
  type ChannelOptions,
  type ChannelEvents,
  type ChannelState,
  type ChannelSocket,
  type SocketFactory,
} from './channel.js';
export {
  encodeClientFrame,
  decodeServerFrame,
  type ClientFrame,
  type ServerFrame,
  type ChatMessage,
  type ChatBatch,
  type ReactionAggregate,
  type TipEvent,
  type ModerationEvent,
  type StreamStatus,
  type ChannelErrorFrame,
} from './channel-codec.js';
export {
  api,
  newIdempotencyKey,
  type OnAirApi,
  type AuthSession,
  type User,
  type Stream,
  type OwnedStream,
  type ChannelStream,
  type ChatBan,
  type Broadcast,
  type Clip,
  type ReplayEvent,
  type ActivityEvent,
  type StreamInput,
  type StreamQuery,
  type StreamPage,
  type Playback,
  type Moderator,
  type ChatHistoryPage,
  type ChatSettings,
  type ChatMode,
  type Wallet,
  type TopUp,
  type Tip,
  type TipInput,
  type IngestUrls,
} from './api.js';
export { OnAirError, isOnAirError } from './errors.js';
export { orderCodecs, type VideoCodec } from './codecs.js';
export { playWithReconnect, type ReconnectOptions, type ReconnectingPlayer, type ReconnectState } from './reconnect.js';
