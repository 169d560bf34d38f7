/// <reference types="vite/client" />
import type { Player, Publisher, StreamPlayer } from '@onair/client-sdk';

declare global {
  interface Window {
    /** The watch page's current WHEP player while on WebRTC (for tests and debugging). */
    onairPlayer?: Player;
    /** The watch page's current player (any transport). */
    onairStreamPlayer?: StreamPlayer;
    /** The dashboard's current publisher (for tests and debugging). */
    onairPublisher?: Publisher;
  }
}
