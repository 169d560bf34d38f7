// A strict little XML reader for MPDs: elements and attributes only (an MPD carries no text the tests
// need). It throws on anything not well-formed: unbalanced or mismatched tags, unquoted or duplicate
// attributes, stray text outside the root, more than one root.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function parseXml(text: string): XmlElement {
  let at = 0;
  const skipWs = () => {
    while (/\s/.test(text[at] ?? '')) at++;
  };
  if (text.startsWith('<?xml')) at = text.indexOf('?>') + 2;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (at < text.length) {
    skipWs();
    if (at >= text.length) break;
    if (text[at] !== '<') {
      const end = text.indexOf('<', at);
      if (!stack.length) throw new Error(`text outside the root at ${at}`);
      at = end < 0 ? text.length : end;
      continue;
    }
    if (text.startsWith('<!--', at)) {
      at = text.indexOf('-->', at) + 3;
      continue;
    }
    if (text[at + 1] === '/') {
      const m = /^<\/([\w:.-]+)\s*>/.exec(text.slice(at));
      const open = stack.pop();
      if (!m || !open || open.name !== m[1]) throw new Error(`mismatched closing tag at ${at}`);
      at += m[0].length;
      continue;
    }
    const m = /^<([\w:.-]+)/.exec(text.slice(at));
    if (!m) throw new Error(`bad tag at ${at}`);
    at += m[0].length;
    const el: XmlElement = { name: m[1]!, attrs: {}, children: [] };
    for (;;) {
      skipWs();
      if (text.startsWith('/>', at) || text[at] === '>') break;
      const a = /^([\w:.-]+)="([^"<]*)"/.exec(text.slice(at));
      if (!a) throw new Error(`bad attribute at ${at}`);
      if (a[1]! in el.attrs) throw new Error(`duplicate attribute ${a[1]}`);
      el.attrs[a[1]!] = a[2]!.replace(/&(\w+);/g, (_, e: string) => {
        if (!(e in ENTITIES)) throw new Error(`unknown entity ${e}`);
        return ENTITIES[e]!;
      });
      at += a[0].length;
    }
    const selfClosing = text.startsWith('/>', at);
    at += selfClosing ? 2 : 1;
    if (stack.length) stack.at(-1)!.children.push(el);
    else if (root) throw new Error('more than one root element');
    else root = el;
    if (!selfClosing) stack.push(el);
  }
  if (stack.length || !root) throw new Error('unclosed elements or no root');
  return root;
}

export function* elements(el: XmlElement, name: string): Generator<XmlElement> {
  for (const c of el.children) {
    if (c.name === name) yield c;
    yield* elements(c, name);
  }
}

/** ISO 8601 duration (PT#H#M#S) in seconds. */
export function isoDurationSec(d: string): number {
  const m = /^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}
