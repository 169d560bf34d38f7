// Going live with a stream: from the browser (camera + microphone, codec and simulcast choice, local
// preview, Stop) through the SDK's publish(), or from OBS with the WHIP URL and stream key shown here.
// The panel owns the camera and the publisher and releases both on Stop, on unmount and on page hide.
// The current publisher is exposed as `window.onairPublisher`.
import { isOnAirError, publish, type OwnedStream, type Publisher, type VideoCodec } from '@onair/client-sdk';
import { field, h, messageOf } from '../../dom.js';

const STATE_TEXT: Record<RTCPeerConnectionState, string> = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Live',
  disconnected: 'Reconnecting…',
  failed: 'Connection lost',
  closed: 'Offline',
};

export function broadcastPanel(stream: OwnedStream, newStream: () => void): { element: HTMLElement; unmount: () => void } {
  const whipUrl = new URL(stream.ingest.whip, location.origin).href;
  const codec = h('select', { name: 'codec' }, h('option', { value: 'h264' }, 'H.264'), h('option', { value: 'vp8' }, 'VP8'));
  const simulcast = h('input', { type: 'checkbox', name: 'simulcast', id: 'f-simulcast' });
  const goLive = h('button', { type: 'button', class: 'go-live' }, 'Go live');
  const stop = h('button', { type: 'button', class: 'danger', disabled: true }, 'Stop');
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, 'Offline');
  const error = h('p', { class: 'error', role: 'alert' });
  const preview = h('video', { class: 'preview', muted: true, autoplay: true, playsInline: true, 'aria-label': 'Camera preview' });
  const another = h('button', { type: 'button', class: 'secondary', onclick: newStream }, 'Create another stream');

  let camera: MediaStream | undefined;
  let publisher: Publisher | undefined;
  let starting = false;
  let attempt = 0;

  const setLive = (live: boolean) => {
    element.dataset.state = live ? 'live' : 'offline';
    goLive.disabled = live || starting;
    stop.disabled = !live && !starting;
    codec.disabled = simulcast.disabled = another.disabled = live || starting;
  };

  const release = async () => {
    const current = publisher;
    publisher = undefined;
    camera?.getTracks().forEach((t) => t.stop());
    camera = undefined;
    preview.srcObject = null;
    await current?.stop();
  };

  const start = async () => {
    const mine = ++attempt; // Stop (or leaving) while starting makes this attempt stale
    error.textContent = '';
    starting = true;
    setLive(false);
    try {
      status.textContent = 'Starting camera…';
      const media = await navigator.mediaDevices.getUserMedia({
        audio: true,
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
      });
      if (mine !== attempt) return media.getTracks().forEach((t) => t.stop());
      camera = media;
      preview.srcObject = media;
      status.textContent = 'Connecting…';
      const next = await publish({ whipUrl, streamKey: stream.streamKey, stream: media, videoCodec: codec.value as VideoCodec, simulcast: simulcast.checked });
      if (mine !== attempt) return void next.stop().catch(() => {});
      publisher = next;
      window.onairPublisher = next;
      next.onStateChange((state) => {
        if (publisher !== next) return;
        status.textContent = STATE_TEXT[state];
        if (state === 'failed') {
          attempt++;
          error.textContent = 'The connection to the server was lost. Go live again to reconnect.';
          void release().catch(() => {}).finally(() => setLive(false));
        }
      });
      status.textContent = STATE_TEXT[next.state];
      starting = false;
      setLive(true);
    } catch (err) {
      if (mine !== attempt) return;
      starting = false;
      await release().catch(() => {});
      status.textContent = 'Offline';
      error.textContent = describeError(err);
      setLive(false);
    }
  };

  const end = async () => {
    attempt++;
    stop.disabled = true;
    starting = false;
    try {
      await release();
    } catch (err) {
      error.textContent = `The server may still show you live for a few seconds: ${messageOf(err)}`;
    }
    status.textContent = 'Offline';
    setLive(false);
  };

  goLive.addEventListener('click', () => void start());
  stop.addEventListener('click', () => void end());
  const onPageHide = () => void release().catch(() => {});
  window.addEventListener('pagehide', onPageHide);

  const element = h(
    'section',
    { class: 'broadcast', 'aria-labelledby': 'broadcast-heading' },
    h('h2', { id: 'broadcast-heading' }, stream.title || 'Untitled stream'),
    h('p', { class: 'meta' }, h('a', { href: `/watch/${encodeURIComponent(stream.id)}`, target: '_blank', rel: 'noopener' }, 'Open the watch page'), ' (new tab)'),
    h(
      'div',
      { class: 'card' },
      h('h3', {}, 'Go live from this browser'),
      h('div', { class: 'preview-frame' }, preview),
      h('div', { class: 'row' }, field('Video codec', codec), h('div', { class: 'field checkbox' }, simulcast, h('label', { for: simulcast.id }, 'Simulcast (three qualities)'))),
      h('div', { class: 'actions' }, goLive, stop),
      status,
      error,
    ),
    obsCard(whipUrl, stream.streamKey),
    h('div', { class: 'actions' }, another),
  );
  setLive(false);

  return {
    element,
    unmount: () => {
      window.removeEventListener('pagehide', onPageHide);
      attempt++;
      void release().catch(() => {});
    },
  };
}

function obsCard(whipUrl: string, streamKey: string): HTMLElement {
  const url = h('input', { readOnly: true, value: whipUrl, name: 'whip-url', spellcheck: false });
  const key = h('input', { readOnly: true, value: streamKey, type: 'password', name: 'stream-key', spellcheck: false });
  const reveal = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Show');
  reveal.addEventListener('click', () => {
    const shown = key.type === 'password';
    key.type = shown ? 'text' : 'password';
    reveal.textContent = shown ? 'Hide' : 'Show';
    reveal.setAttribute('aria-pressed', String(shown));
  });
  // A form (never submitted) so the browser treats the masked key field as a form field.
  return h(
    'form',
    { class: 'card', 'aria-label': 'Go live from OBS', onsubmit: (ev: Event) => ev.preventDefault() },
    h('h3', {}, 'Go live from OBS'),
    h('p', { class: 'hint' }, 'In OBS: Settings → Stream → Service "WHIP", then paste the server URL and the stream key as the Bearer token. Keep the key secret.'),
    h('div', { class: 'copy-row' }, field('WHIP URL', url), copyButton('Copy URL', () => url.value)),
    h('div', { class: 'copy-row' }, field('Stream key', key), reveal, copyButton('Copy key', () => key.value)),
  );
}

function copyButton(label: string, text: () => string): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'secondary' }, label);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text());
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Copy failed';
    }
    setTimeout(() => (button.textContent = label), 1500);
  });
  return button;
}

function describeError(err: unknown): string {
  if (err instanceof DOMException && err.name === 'NotAllowedError') return 'Camera or microphone access was denied. Allow it in the browser and try again.';
  if (err instanceof DOMException && err.name === 'NotFoundError') return 'No camera or microphone was found.';
  if (isOnAirError(err) && err.status === 401) return 'The server refused the stream key. Create a new stream to get a fresh key.';
  if (isOnAirError(err) && err.code === 'codec_unsupported') return `${err.message}. Pick the other codec.`;
  return `Could not go live: ${messageOf(err)}`;
}
