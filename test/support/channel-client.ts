// A real `ws` client of the real-time channel for tests: connects to /ws/{streamId} (optionally
// with a token in Sec-WebSocket-Protocol), decodes every ServerFrame it receives, sends ClientFrames.
import WebSocket from 'ws';
import { onair } from '@onair/proto';
import { waitFor } from './onair-node.js';

const { ClientFrame, ServerFrame } = onair.channel.v1;
export type ServerFrame = onair.channel.v1.ServerFrame;

export class ChannelClient {
  readonly frames: ServerFrame[] = [];
  readonly frameTimes: number[] = [];
  private seq = 0;
  closeCode: number | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.frames.push(ServerFrame.decode(data));
      this.frameTimes.push(Date.now());
    });
    ws.on('close', (code) => (this.closeCode = code));
  }

  static async connect(baseUrl: string, streamId: string, token?: string): Promise<ChannelClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/ws/${streamId}`;
    const ws = new WebSocket(url, token ? ['onair.channel.v1', token] : []);
    const client = new ChannelClient(ws); // listening before 'open': the first frames may come with it
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
    });
    return client;
  }

  send(frame: onair.channel.v1.ClientFrame.$Properties): number {
    const seq = ++this.seq;
    this.ws.send(ClientFrame.encode({ seq, ...frame }).finish());
    return seq;
  }

  chat(text: string): number {
    return this.send({ chat: { text } });
  }

  get chatMessages(): onair.channel.v1.ChatMessage.$Properties[] {
    return this.frames.flatMap((f) => (f.body === 'chat' && !f.chat?.history ? (f.chat.messages ?? []) : []));
  }

  get errors(): onair.channel.v1.Error.$Properties[] {
    return this.frames.flatMap((f) => (f.body === 'error' && f.error ? [f.error] : []));
  }

  of<K extends 'chat' | 'reactions' | 'viewers' | 'moderation' | 'status' | 'error' | 'pong' | 'tip'>(
    kind: K,
  ): NonNullable<ServerFrame[K]>[] {
    return this.frames.filter((f) => f.body === kind).map((f) => f[kind]!) as NonNullable<ServerFrame[K]>[];
  }

  async waitForText(text: string, timeoutMs = 5000): Promise<void> {
    await waitFor(`chat "${text}"`, () => this.chatMessages.some((m) => m.text === text), timeoutMs);
  }

  async waitForError(code: string, timeoutMs = 5000): Promise<onair.channel.v1.Error.$Properties> {
    await waitFor(`error ${code}`, () => this.errors.some((e) => e.code === code), timeoutMs);
    return this.errors.find((e) => e.code === code)!;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

export async function api(baseUrl: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
}

let n = 0;
export async function registerUser(baseUrl: string): Promise<{ id: string; token: string; username: string }> {
  const username = `chatter_${process.pid}_${++n}`;
  const r = await api(baseUrl, 'POST', '/api/auth/register', undefined, { username, password: 'correct horse battery' });
  if (r.status !== 201) throw new Error(`register ${r.status}`);
  return { id: r.body.user.id, token: r.body.token, username };
}
