// @onair/client-sdk: publish to OnAir over WHIP, play over WHEP, and call its HTTP API from a browser.
export { publish, SIMULCAST_ENCODINGS, type PublishOptions, type Publisher } from './whip.js';
export { play, type PlayOptions, type Player, type EndReason } from './whep.js';
export { api, type OnAirApi, type AuthSession, type User, type Stream, type OwnedStream, type StreamInput, type StreamQuery, type StreamPage, type Playback } from './api.js';
export { OnAirError, isOnAirError } from './errors.js';
export { orderCodecs, type VideoCodec } from './codecs.js';
export { playWithReconnect, type ReconnectOptions, type ReconnectingPlayer, type ReconnectState } from './reconnect.js';
