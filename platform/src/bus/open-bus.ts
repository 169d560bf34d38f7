// Chooses the bus from configuration: NATS when NATS_URL is set, otherwise in-process.
import type { Logger } from '../log.js';
import type { Bus } from './bus.js';
import { InProcessBus } from './in-process-bus.js';
import { NatsBus } from './nats-bus.js';

export async function openBus(
  options: { natsUrl: string | undefined; natsCredsFile?: string | undefined; name?: string },
  log: Logger,
): Promise<Bus> {
  if (!options.natsUrl) return new InProcessBus();
  return NatsBus.connect({ url: options.natsUrl, credsFile: options.natsCredsFile, name: options.name }, log);
}
