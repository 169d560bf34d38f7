// Client-side routing on location.pathname: each route mounts a page into the main element and gets
// back the function that unmounts it (stops timers, players, cameras). Same-origin links marked
// `data-link` navigate without a reload; the server answers index.html for every page path.

export interface PageContext {
  params: Record<string, string>;
  navigate(path: string): void;
}

/** Mounts a page into `root`; returns its cleanup. */
// biome-ignore lint/suspicious/noConfusingVoidType: a page returns its cleanup, or nothing
export type Page = (root: HTMLElement, ctx: PageContext) => (() => void) | void;

interface Route {
  pattern: RegExp;
  names: string[];
  page: Page;
}

export class Router {
  private readonly routes: Route[] = [];
  private unmount: (() => void) | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly notFound: Page,
  ) {}

  /** `path` like `/watch/:id`. */
  add(path: string, page: Page): this {
    const names: string[] = [];
    const source = path.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.routes.push({ pattern: new RegExp(`^${source}/?$`), names, page });
    return this;
  }

  start(): void {
    window.addEventListener('popstate', () => this.render());
    document.addEventListener('click', (ev) => {
      const link = (ev.target as Element | null)?.closest?.('a[data-link]');
      if (!(link instanceof HTMLAnchorElement) || ev.defaultPrevented || ev.button !== 0) return;
      if (ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey || link.origin !== location.origin) return;
      ev.preventDefault();
      this.navigate(link.pathname + link.search);
    });
    this.render();
  }

  navigate(path: string): void {
    if (path !== location.pathname + location.search) history.pushState(null, '', path);
    this.render();
    this.root.focus({ preventScroll: true }); // screen readers start reading the new page
    window.scrollTo(0, 0);
  }

  private render(): void {
    this.unmount?.();
    this.unmount = undefined;
    this.root.replaceChildren();
    const path = location.pathname;
    const ctx = (params: Record<string, string>): PageContext => ({ params, navigate: (p) => this.navigate(p) });
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(match[i + 1] ?? '')]));
      this.unmount = route.page(this.root, ctx(params)) ?? undefined;
      return;
    }
    this.unmount = this.notFound(this.root, ctx({})) ?? undefined;
  }
}
