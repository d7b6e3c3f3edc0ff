// A small router for the app's paths under /admin (the server answers every
// /admin/... path with index.html).
import type { ComponentChildren, PartialAnchorHTMLAttributes } from "preact";
import { useEffect, useState } from "preact/hooks";

export const BASE = "/admin";

export function currentPath(): string {
  const p = window.location.pathname;
  const rest = p.startsWith(BASE) ? p.slice(BASE.length) : p;
  return rest === "" ? "/" : rest;
}

const listeners = new Set<() => void>();
window.addEventListener("popstate", () => listeners.forEach((l) => l()));

export function navigate(path: string, { replace = false } = {}): void {
  const url = BASE + (path === "/" ? "/" : path);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  listeners.forEach((l) => l());
}

export function usePath(): { path: string; search: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return { path: currentPath(), search: new URLSearchParams(window.location.search) };
}

/** Match "/campaigns/:id/:tab?" against a path; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < Math.max(p.length, s.length); i++) {
    const part = p[i];
    if (part === undefined) return null;
    const optional = part.endsWith("?");
    const name = part.replace(/^:/, "").replace(/\?$/, "");
    if (s[i] === undefined) {
      if (optional) continue;
      return null;
    }
    if (part.startsWith(":")) params[name] = decodeURIComponent(s[i]);
    else if (part !== s[i]) return null;
  }
  return params;
}

export function href(path: string): string {
  return BASE + path;
}

/** Global IDs are base64 and may contain "/" or "=": always encode them in a path. */
export function idPath(...parts: string[]): string {
  return "/" + parts.map((p, i) => (i % 2 === 1 ? encodeURIComponent(p) : p)).join("/");
}

type LinkProps = Omit<PartialAnchorHTMLAttributes<HTMLAnchorElement>, "href" | "role"> & { to: string; children: ComponentChildren };

export function Link({ to, children, ...rest }: LinkProps) {
  return (
    <a
      {...rest}
      href={href(to)}
      onClick={(e: MouseEvent) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
