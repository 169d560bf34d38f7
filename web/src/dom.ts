// A tiny element builder for the pages: `h('button', { type: 'button', onclick }, 'Stop')`.
// Properties that exist on the element are set as properties, `on*` functions become listeners,
// anything else becomes an attribute. Text children are text nodes, never HTML.

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown>;

/** Names whose element property is read-only or means something else: always set as attributes. */
const ATTRIBUTE_ONLY = new Set(['list', 'form', 'style']);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value as EventListener);
    else if (key === 'class') el.className = String(value);
    else if (key === 'for') (el as HTMLLabelElement).htmlFor = String(value);
    else if (key.includes('-') || ATTRIBUTE_ONLY.has(key) || !(key in el)) el.setAttribute(key, value === true ? '' : String(value));
    else (el as unknown as Props)[key] = value;
  }
  el.append(
    ...children
      .filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false)
      .map((c) => (typeof c === 'number' ? String(c) : c)),
  );
  return el;
}

/** Replaces everything inside `el` with `children`. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren(
    ...children
      .filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false)
      .map((c) => (typeof c === 'number' ? String(c) : c)),
  );
}

/** A labelled form field: `<label for>` + the control, wrapped for layout. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLDivElement {
  control.id ||= `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  const hintEl = hint ? h('small', { id: `${control.id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** Human message for any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
