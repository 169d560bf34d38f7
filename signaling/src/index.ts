export { startNode, type OnAirNode } from './node.js';
// HTTP building blocks, for benches and hosts that assemble their own Fastify app around playback
export { registerPlaybackRoutes, type PlaybackRouteDeps } from './http/playback-routes.js';
export { installCors } from './http/cors.js';
export { installErrorHandler } from './http/error-handler.js';
