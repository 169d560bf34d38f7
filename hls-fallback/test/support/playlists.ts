// Parses HLS media playlists into plain data so tests assert on structure, not on text layout.

export interface ParsedPart {
  uri: string;
  duration: number;
  independent: boolean;
}

export interface ParsedSegment {
  msn: number;
  uri?: string;
  duration?: number;
  discontinuity: boolean;
  map?: string;
  pdt?: number;
  parts: ParsedPart[];
}

export interface ParsedMediaPlaylist {
  version: number;
  targetDuration: number;
  mediaSequence: number;
  discontinuitySequence: number;
  partTarget?: number;
  serverControl: Record<string, string>;
  skipped: number;
  segments: ParsedSegment[];
  preloadHint?: string;
  renditionReports: { uri: string; lastMsn: number; lastPart: number }[];
  endList: boolean;
}

export function attrs(list: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of list.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) out[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return out;
}

export function parseMediaPlaylist(text: string): ParsedMediaPlaylist {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines[0] !== '#EXTM3U') throw new Error('not a playlist');
  const pl: ParsedMediaPlaylist = {
    version: 0,
    targetDuration: 0,
    mediaSequence: 0,
    discontinuitySequence: 0,
    serverControl: {},
    skipped: 0,
    segments: [],
    renditionReports: [],
    endList: false,
  };
  let cur: ParsedSegment | undefined;
  let map: string | undefined;
  const open = () => {
    cur ??= { msn: pl.mediaSequence + pl.skipped + pl.segments.length, discontinuity: false, parts: [], ...(map ? { map } : {}) };
    return cur;
  };
  for (const l of lines.slice(1)) {
    const [tag, rest = ''] = l.startsWith('#')
      ? [l.slice(0, l.indexOf(':') < 0 ? l.length : l.indexOf(':')), l.slice(l.indexOf(':') + 1)]
      : ['URI', l];
    switch (tag) {
      case '#EXT-X-VERSION':
        pl.version = Number(rest);
        break;
      case '#EXT-X-TARGETDURATION':
        pl.targetDuration = Number(rest);
        break;
      case '#EXT-X-MEDIA-SEQUENCE':
        pl.mediaSequence = Number(rest);
        break;
      case '#EXT-X-DISCONTINUITY-SEQUENCE':
        pl.discontinuitySequence = Number(rest);
        break;
      case '#EXT-X-PART-INF':
        pl.partTarget = Number(attrs(rest)['PART-TARGET']);
        break;
      case '#EXT-X-SERVER-CONTROL':
        pl.serverControl = attrs(rest);
        break;
      case '#EXT-X-SKIP':
        pl.skipped = Number(attrs(rest)['SKIPPED-SEGMENTS']);
        break;
      case '#EXT-X-MAP':
        map = attrs(rest).URI;
        if (cur) cur.map = map;
        break;
      case '#EXT-X-DISCONTINUITY':
        open().discontinuity = true;
        break;
      case '#EXT-X-PROGRAM-DATE-TIME':
        open().pdt = Date.parse(rest);
        break;
      case '#EXT-X-PART': {
        const a = attrs(rest);
        open().parts.push({ uri: a.URI!, duration: Number(a.DURATION), independent: a.INDEPENDENT === 'YES' });
        break;
      }
      case '#EXTINF':
        open().duration = Number(rest.split(',')[0]);
        break;
      case 'URI':
        open().uri = l;
        pl.segments.push(cur!);
        cur = undefined;
        break;
      case '#EXT-X-PRELOAD-HINT':
        pl.preloadHint = attrs(rest).URI;
        break;
      case '#EXT-X-RENDITION-REPORT': {
        const a = attrs(rest);
        pl.renditionReports.push({ uri: a.URI!, lastMsn: Number(a['LAST-MSN']), lastPart: Number(a['LAST-PART']) });
        break;
      }
      case '#EXT-X-ENDLIST':
        pl.endList = true;
        break;
    }
  }
  if (cur) pl.segments.push(cur); // the segment in progress: parts, no URI yet
  return pl;
}

/** The last part listed (msn and index), from its URI "session/MSN.PART.m4s". */
export function lastPartOf(pl: ParsedMediaPlaylist): { msn: number; index: number } {
  for (let i = pl.segments.length - 1; i >= 0; i--) {
    const p = pl.segments[i]!.parts.at(-1);
    if (p) {
      const m = /(\d+)\.(\d+)\.m4s$/.exec(p.uri)!;
      return { msn: Number(m[1]), index: Number(m[2]) };
    }
  }
  throw new Error('no parts in playlist');
}
