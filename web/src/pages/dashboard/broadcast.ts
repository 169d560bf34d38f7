// Going live with a stream: from the browser (camera or screen share, a device picker for camera and
// microphone, codec and simulcast choice, a local preview before and while live, Stop) through the
// SDK's publish(), or from OBS or any encoder with the WHIP, RTMP or SRT URL and stream key shown here. The key is the one this
// page was shown (creation, rotation); after a reload there is none, and going live or "Get a new
// key" asks the server for a new one (rotation): keys are stored hashed and never shown twice.
// The panel owns the camera and the publisher and releases both on Stop, on unmount and on page hide.
// The current publisher is exposed as `window.onairPublisher`.
import { isOnAirError, publish, type ChannelStream, type IngestUrls, type Publisher, type VideoCodec } from '@onair/client-sdk';
import { field, h, messageOf } from '../../dom.js';
import { client } from '../../session.js';

/** How often the OBS card reads the stream's state from the server (live, or why it ended). */
const ENCODER_STATUS_EVERY_MS = 3000;

/** The stream key as this page knows it. */
export interface StreamKeySource {
  /** The key shown to this page, if any. */
  known(): string | undefined;
  /** Rotates the key on the server and returns the new one. */
  renew(): Promise<string>;
}

const STATE_TEXT: Record<RTCPeerConnectionState, string> = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Live',
  disconnected: 'Reconnecting…',
  failed: 'Connection lost',
  closed: 'Offline',
};

export interface BroadcastPanel {
  element: HTMLElement;
  /** The preview frame, for overlays such as tip alerts. */
  previewFrame: HTMLElement;
  /** The current publisher while live. */
  publisher(): Publisher | undefined;
  /** The stream's title changed (Save details). */
  retitle(title: string): void;
  /** The key was rotated: a broadcast with the old key has ended, and the OBS card shows the new key. */
  keyRotated(): void;
  unmount: () => void;
}

export function broadcastPanel(stream: ChannelStream, keys: StreamKeySource): BroadcastPanel {
  const whipUrl = new URL(stream.ingest.whip, location.origin).href;
  const codec = h('select', { name: 'codec' }, h('option', { value: 'h264' }, 'H.264'), h('option', { value: 'vp8' }, 'VP8'));
  const simulcast = h('input', { type: 'checkbox', name: 'simulcast', id: 'f-simulcast' });
  const goLive = h('button', { type: 'button', class: 'go-live' }, 'Go live');
  const stop = h('button', { type: 'button', class: 'danger', disabled: true }, 'Stop');
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, 'Offline');
  const error = h('p', { class: 'error', role: 'alert' });
  const preview = h('video', { class: 'preview', muted: true, autoplay: true, playsInline: true, 'aria-label': 'Camera preview' });
  const previewFrame = h('div', { class: 'preview-frame' }, preview);
  const source = h(
    'select',
    { name: 'source' },
    h('option', { value: 'camera' }, 'Camera'),
    h('option', { value: 'screen' }, 'Screen share'),
  );
  const cameraPick = h('select', { name: 'camera' }, h('option', { value: '' }, 'Default camera'));
  const micPick = h('select', { name: 'microphone' }, h('option', { value: '' }, 'Default microphone'));
  const previewButton = h('button', { type: 'button', class: 'secondary' }, 'Preview');
  const heading = h('h2', { id: 'broadcast-heading' }, stream.title || 'Untitled stream');
  const obs = obsCard(whipUrl, stream.ingest, keys, () => keyRotated());
  const encoder = encoderStatus(stream);
  obs.element.insertBefore(encoder.element, obs.element.querySelector('h3')!.nextSibling);

  let camera: MediaStream | undefined;
  let publisher: Publisher | undefined;
  let starting = false;
  let attempt = 0;

  const setLive = (live: boolean) => {
    element.dataset.state = live ? 'live' : 'offline';
    goLive.disabled = live || starting;
    stop.disabled = !live && !starting;
    codec.disabled =
      simulcast.disabled =
      source.disabled =
      cameraPick.disabled =
      micPick.disabled =
      previewButton.disabled =
        live || starting;
  };

  /** Lists cameras and microphones (names appear once the user granted access). */
  const listDevices = async () => {
    const devices = (await navigator.mediaDevices?.enumerateDevices().catch(() => [])) ?? [];
    const fillPick = (pick: HTMLSelectElement, kind: MediaDeviceKind, fallback: string) => {
      const current = pick.value;
      const options = devices.filter((d) => d.kind === kind && d.deviceId);
      pick.replaceChildren(
        h('option', { value: '' }, fallback),
        ...options.map((d, i) => h('option', { value: d.deviceId }, d.label || `${fallback.replace('Default ', '')} ${i + 1}`)),
      );
      pick.value = options.some((d) => d.deviceId === current) ? current : '';
    };
    fillPick(cameraPick, 'videoinput', 'Default camera');
    fillPick(micPick, 'audioinput', 'Default microphone');
  };

  /** The camera (or screen) stream for the chosen source and devices. */
  const capture = async (): Promise<MediaStream> => {
    const audio: MediaTrackConstraints | boolean = micPick.value ? { deviceId: { exact: micPick.value } } : true;
    if (source.value === 'screen') {
      const screen = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 30 } }, audio: false });
      const mic = await navigator.mediaDevices.getUserMedia({ audio }).catch(() => undefined);
      mic?.getAudioTracks().forEach((t) => screen.addTrack(t));
      return screen;
    }
    const video: MediaTrackConstraints = {
      width: { ideal: 1280 },
      height: { ideal: 720 },
      frameRate: { ideal: 30 },
      ...(cameraPick.value ? { deviceId: { exact: cameraPick.value } } : {}),
    };
    return navigator.mediaDevices.getUserMedia({ audio, video });
  };

  const startPreview = async () => {
    error.textContent = '';
    try {
      camera?.getTracks().forEach((t) => t.stop());
      camera = await capture();
      preview.srcObject = camera;
      await listDevices();
    } catch (err) {
      error.textContent = describeError(err);
    }
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
      const media = camera?.getTracks().some((t) => t.readyState === 'live') ? camera : await capture();
      if (mine !== attempt) return media.getTracks().forEach((t) => t.stop());
      camera = media;
      preview.srcObject = media;
      void listDevices();
      let streamKey = keys.known();
      if (!streamKey) {
        status.textContent = 'Getting a stream key…';
        streamKey = await keys.renew();
        obs.refresh();
        if (mine !== attempt) return media.getTracks().forEach((t) => t.stop());
      }
      status.textContent = 'Connecting…';
      const next = await publish({
        whipUrl,
        streamKey,
        stream: media,
        videoCodec: codec.value as VideoCodec,
        simulcast: simulcast.checked,
      });
      if (mine !== attempt) return void next.stop().catch(() => {});
      publisher = next;
      window.onairPublisher = next;
      next.onStateChange((state) => {
        if (publisher !== next) return;
        status.textContent = STATE_TEXT[state];
        if (state === 'failed') {
          attempt++;
          error.textContent = 'The connection to the server was lost. Go live again to reconnect.';
          void release()
            .catch(() => {})
            .finally(() => setLive(false));
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

  const keyRotated = () => {
    obs.refresh();
    if (!publisher && !starting) return;
    attempt++;
    starting = false;
    void release().catch(() => {});
    status.textContent = 'Offline';
    error.textContent =
      'The stream key was rotated, which ended this broadcast (the old key no longer works). Go live again to use the new key.';
    setLive(false);
  };

  goLive.addEventListener('click', () => void start());
  previewButton.addEventListener('click', () => void startPreview());
  for (const pick of [source, cameraPick, micPick]) pick.addEventListener('change', () => camera && void startPreview());
  void listDevices();
  stop.addEventListener('click', () => void end());
  const onPageHide = () => void release().catch(() => {});
  window.addEventListener('pagehide', onPageHide);

  const element = h(
    'section',
    { class: 'broadcast', 'aria-labelledby': 'broadcast-heading' },
    heading,
    h(
      'p',
      { class: 'meta' },
      h('a', { href: `/watch/${encodeURIComponent(stream.id)}`, target: '_blank', rel: 'noopener' }, 'Open the watch page'),
      ' (new tab)',
    ),
    h(
      'div',
      { class: 'card' },
      h('h3', {}, 'Go live from this browser'),
      previewFrame,
      h('div', { class: 'row' }, field('Source', source), field('Camera', cameraPick), field('Microphone', micPick)),
      h(
        'div',
        { class: 'row' },
        field('Video codec', codec),
        h('div', { class: 'field checkbox' }, simulcast, h('label', { for: simulcast.id }, 'Simulcast (three qualities)')),
      ),
      h('div', { class: 'actions' }, previewButton, goLive, stop),
      status,
      error,
    ),
    obs.element,
  );
  setLive(false);

  return {
    element,
    previewFrame,
    publisher: () => publisher,
    retitle: (title) => (heading.textContent = title || 'Untitled stream'),
    keyRotated: () => keyRotated(),
    unmount: () => {
      encoder.stop();
      window.removeEventListener('pagehide', onPageHide);
      attempt++;
      void release().catch(() => {});
    },
  };
}

function obsCard(
  whipUrl: string,
  ingest: IngestUrls,
  keys: StreamKeySource,
  renewed: () => void,
): { element: HTMLElement; refresh(): void } {
  const url = h('input', { readOnly: true, value: whipUrl, name: 'whip-url', spellcheck: false });
  const rtmp = ingest.rtmp ? h('input', { readOnly: true, value: ingest.rtmp, name: 'rtmp-url', spellcheck: false }) : undefined;
  // OBS takes SRT as one URL with the key in `streamid` (Service "Custom…", Server = this URL).
  const srtFor = (key: string | undefined) =>
    ingest.srt ? `${ingest.srt}?streamid=${key ? encodeURIComponent(`#!::r=${key},m=publish`) : '<stream key>'}` : '';
  const srt = ingest.srt ? h('input', { readOnly: true, value: srtFor(undefined), name: 'srt-url', spellcheck: false }) : undefined;
  const key = h('input', { readOnly: true, type: 'password', name: 'stream-key', spellcheck: false, autocomplete: 'off' });
  const reveal = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Show');
  const copy = copyButton('Copy key', () => key.value);
  const renew = h('button', { type: 'button', class: 'secondary' }, 'Get a new key');
  const keyNote = h('p', { class: 'hint', id: 'stream-key-note' });
  const error = h('p', { class: 'error', role: 'alert' });
  key.setAttribute('aria-describedby', keyNote.id);
  const refresh = () => {
    const known = keys.known();
    key.value = known ?? '';
    if (srt) srt.value = srtFor(known);
    key.placeholder = known ? '' : 'Hidden: shown only when made';
    reveal.hidden = copy.hidden = !known;
    keyNote.textContent = known
      ? 'Keep the key secret. It is shown only on this page: after a reload, get a new one.'
      : 'The key is shown only once, when it is made. Get a new key to see one: the old key (in OBS, say) stops working.';
  };
  reveal.addEventListener('click', () => {
    const shown = key.type === 'password';
    key.type = shown ? 'text' : 'password';
    reveal.textContent = shown ? 'Hide' : 'Show';
    reveal.setAttribute('aria-pressed', String(shown));
  });
  renew.addEventListener('click', async () => {
    if (keys.known() && !confirm('Get a new stream key? The old key stops working and a running broadcast ends.')) return;
    error.textContent = '';
    try {
      await keys.renew();
      renewed();
      key.type = 'text';
      reveal.textContent = 'Hide';
      reveal.setAttribute('aria-pressed', 'true');
    } catch (err) {
      error.textContent = messageOf(err);
    }
  });
  refresh();
  // A form (never submitted) so the browser treats the masked key field as a form field.
  const element = h(
    'form',
    { class: 'card', 'aria-label': 'Go live from OBS', onsubmit: (ev: Event) => ev.preventDefault() },
    h('h3', {}, 'Go live from OBS'),
    h(
      'p',
      { class: 'hint' },
      'In OBS 30+: Settings → Stream → Service "WHIP", then paste the WHIP URL and the stream key as the Bearer token.',
    ),
    h(
      'div',
      { class: 'copy-row' },
      field('WHIP URL', url),
      copyButton('Copy URL', () => url.value),
    ),
    ...(rtmp
      ? [
          h(
            'p',
            { class: 'hint' },
            'Or RTMP (any OBS, hardware and phone encoders): Service "Custom…", Server = the RTMP URL, Stream Key = the stream key.',
          ),
          h(
            'div',
            { class: 'copy-row' },
            field('RTMP server', rtmp),
            copyButton('Copy RTMP URL', () => rtmp.value),
          ),
        ]
      : []),
    ...(srt
      ? [
          h(
            'p',
            { class: 'hint' },
            'Or SRT: Service "Custom…", Server = the SRT URL (it carries the stream key once the key is shown), Stream Key empty.',
          ),
          h(
            'div',
            { class: 'copy-row' },
            field('SRT URL', srt),
            copyButton('Copy SRT URL', () => srt.value),
          ),
        ]
      : []),
    h('div', { class: 'copy-row' }, field('Stream key', key), reveal, copy, renew),
    keyNote,
    error,
  );
  return { element, refresh };
}

/**
 * What the server sees of the stream, for a streamer whose encoder (OBS, hardware, ffmpeg) is not this
 * page: live since when, or why the last broadcast ended, most of all a refusal the encoder itself
 * does not explain (OBS only says "disconnected"): a video codec OnAir does not take. Polls GET
 * /api/me/streams every few seconds while mounted; owns only its timer.
 */
function encoderStatus(stream: ChannelStream): { element: HTMLElement; stop(): void } {
  const element = h('p', { class: 'status encoder-status', role: 'status', 'aria-live': 'polite', 'data-encoder-state': 'unknown' });
  const show = (s: ChannelStream) => {
    const problem = !s.live && s.endedReason ? ENDED_PROBLEMS[s.endedReason] : undefined;
    element.dataset.encoderState = s.live ? 'live' : problem ? 'refused' : 'offline';
    element.classList.toggle('error', Boolean(problem));
    if (s.live) {
      element.textContent = `Live since ${s.startedAt ? new Date(s.startedAt).toLocaleTimeString() : 'just now'}.`;
    } else if (problem) {
      element.textContent = problem;
    } else if (s.endedReason) {
      element.textContent = `Offline. The last broadcast ended${s.endedAt ? ` at ${new Date(s.endedAt).toLocaleTimeString()}` : ''}: ${ENDED_REASONS[s.endedReason] ?? s.endedReason.replace(/_/g, ' ')}.`;
    } else {
      element.textContent = 'Offline: waiting for your encoder.';
    }
  };
  show(stream);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = async () => {
    try {
      const { items } = await client().myStreams();
      const now = items.find((i) => i.id === stream.id);
      if (now && !stopped) show(now);
    } catch {
      // A failed read leaves the last state shown; the next poll tries again.
    }
    if (!stopped) timer = setTimeout(() => void poll(), ENCODER_STATUS_EVERY_MS);
  };
  timer = setTimeout(() => void poll(), ENCODER_STATUS_EVERY_MS);
  return {
    element,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Ends the streamer must act on: what went wrong and what to change in the encoder. */
const ENDED_PROBLEMS: Record<string, string> = {
  unsupported_codec:
    'Your encoder was refused: OnAir takes H.264 video, and it sent another codec (HEVC or AV1). In OBS: Settings → Output → Video Encoder: x264, or a hardware H.264 encoder (NVENC H.264, QuickSync H.264, AMF H.264).',
  no_video: 'Your encoder was refused: its stream carried no video. Send H.264 video with AAC or Opus audio.',
  not_mpegts: 'Your encoder was refused: SRT takes an MPEG-TS stream. In OBS, leave the SRT output format as MPEG-TS.',
};

/** Ordinary ends, in words. */
const ENDED_REASONS: Record<string, string> = {
  publisher_deleted: 'the broadcast was stopped',
  publisher_unpublished: 'the encoder stopped',
  stream_key_rotated: 'the stream key was replaced',
  publisher_disconnected: 'the encoder disconnected',
  publisher_timeout: 'no media arrived from the encoder for a while',
  ice_disconnected: 'the connection to the encoder was lost',
  encoder_exited: 'the server could not process the stream',
  node_shutdown: 'the server restarted',
  origin_lost: 'the server that received it stopped',
};

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
  if (err instanceof DOMException && err.name === 'NotAllowedError')
    return 'Camera or microphone access was denied. Allow it in the browser and try again.';
  if (err instanceof DOMException && err.name === 'NotFoundError') return 'No camera or microphone was found.';
  if (isOnAirError(err) && err.status === 401) return 'The server refused the stream key. Create a new stream to get a fresh key.';
  if (isOnAirError(err) && err.code === 'codec_unsupported') return `${err.message}. Pick the other codec.`;
  return `Could not go live: ${messageOf(err)}`;
}
