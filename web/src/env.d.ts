/// <reference types="vite/client" />
import type { Player, Publisher } from '@onair/client-sdk';

declare global {
  interface Window {
    /** The watch page's current player (for tests and debugging). */
    onairPlayer?: Player;
    /** The dashboard's current publisher (for tests and debugging). */
    onairPublisher?: Publisher;
  }
}
