import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { formatDateTime, formatMoney } from "../format";
import type { PagedState } from "../hooks";

/** The page's h1; takes focus after a client-side navigation so screen readers announce the new page. */
export function PageTitle({ children, actions }: { children: ComponentChildren; actions?: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    const text = ref.current?.textContent ?? "";
    document.title = `${text} · Leadwire`;
    if (document.body.dataset.navigated === "1") ref.current?.focus({ preventScroll: false });
  }, [typeof children === "string" ? children : null]);
  return (
    <div class="page-title">
      <h1 tabIndex={-1} ref={ref}>
        {children}
      </h1>
      {actions && <div class="actions">{actions}</div>}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function ErrorBox({ message, retry }: { message: string; retry?: () => void }) {
  return (
    <div class="notice error" role="alert">
      <p>{message}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Notice({ kind = "info", children }: { kind?: "info" | "success" | "warning"; children: ComponentChildren }) {
  return (
    <div class={`notice ${kind}`} role={kind === "success" ? "status" : undefined}>
      {children}
    </div>
  );
}

export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span>—</span>;
  return <time dateTime={value}>{formatDateTime(value)}</time>;
}

export function Money({ value }: { value: { amountMinor: number; currency: string } | null | undefined }) {
  return <span class="money">{formatMoney(value)}</span>;
}

export function Badge({ kind = "neutral", children }: { kind?: "neutral" | "good" | "bad" | "warn"; children: ComponentChildren }) {
  return <span class={`badge ${kind}`}>{children}</span>;
}

/** A table that scrolls sideways on a phone; the scroll region is focusable and named. */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

export function LoadMore<N>({ page, noun }: { page: PagedState<N>; noun: string }) {
  return (
    <div class="load-more">
      {page.error && <ErrorBox message={page.error} retry={page.items.length ? page.loadMore : page.reload} />}
      {page.loading && <Loading label={page.items.length ? `Loading more ${noun}…` : `Loading ${noun}…`} />}
      {!page.loading && !page.error && page.items.length === 0 && <p class="empty">No {noun} yet.</p>}
      {page.hasMore && !page.loading && (
        <button type="button" onClick={() => void page.loadMore()}>
          Load more {noun}
        </button>
      )}
      {page.totalCount !== null && page.items.length > 0 && (
        <p class="count">
          Showing {page.items.length} of {page.totalCount}
        </p>
      )}
    </div>
  );
}

export function Section({ title, children, id }: { title: ComponentChildren; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** A secret the server shows once. */
export function OneTimeSecret({ label, value }: { label: string; value: string }) {
  return (
    <div class="notice success secret" role="status">
      <p>
        <strong>{label}</strong> It is shown this once: copy it now.
      </p>
      <p class="secret-row">
        <code>{value}</code>
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(value);
          }}
        >
          Copy
        </button>
      </p>
    </div>
  );
}

/** One figure of a dashboard row (inside a `.stat-grid`). */
export function Stat({ label, children }: { label: ComponentChildren; children: ComponentChildren }) {
  return (
    <div class="stat card">
      <h2>{label}</h2>
      <p class="stat-value">{children}</p>
    </div>
  );
}

export type Column<N> = { header: ComponentChildren; cell: (row: N) => ComponentChildren; num?: boolean };

/** A cursor-paged list as a table: the header, a row per item, then "Load more" (one shape for every list screen). */
export function PagedTable<N>({
  page,
  noun,
  label,
  columns,
  rowKey,
}: {
  page: PagedState<N>;
  noun: string;
  label: string;
  columns: Column<N>[];
  rowKey: (row: N) => string;
}) {
  return (
    <>
      {page.items.length > 0 && (
        <TableWrap label={label}>
          <table>
            <thead>
              <tr>
                {columns.map((c, i) => (
                  <th scope="col" key={i} class={c.num ? "num" : undefined}>
                    {c.header}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {page.items.map((row) => (
                <tr key={rowKey(row)}>
                  {columns.map((c, i) => (
                    <td key={i} class={c.num ? "num" : undefined}>
                      {c.cell(row)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <LoadMore page={page} noun={noun} />
    </>
  );
}
