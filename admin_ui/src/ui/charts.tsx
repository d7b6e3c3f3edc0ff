// Small charts drawn as plain SVG (no chart library, nothing from a CDN). Each
// is a <figure> whose SVG is one image with a text summary, and whose numbers
// are also in a table under "Show the numbers" for screen readers and keyboards.
import type { ComponentChildren } from "preact";

export type Point = { label: string; value: number };

function Numbers({ caption, points, format }: { caption: string; points: Point[]; format: (v: number) => string }) {
  return (
    <details class="chart-numbers">
      <summary>
        Show the numbers<span class="visually-hidden"> of {caption}</span>
      </summary>
      <table>
        <tbody>
          {points.map((p, i) => (
            <tr key={i}>
              <th scope="row">{p.label}</th>
              <td class="num">{format(p.value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function Ticks({ points }: { points: Point[] }) {
  if (!points.length) return null;
  return (
    <p class="ticks" aria-hidden="true">
      <span>{points[0].label}</span>
      <span>{points[points.length - 1].label}</span>
    </p>
  );
}

function Figure({ caption, summary, children }: { caption: string; summary: string; children: ComponentChildren }) {
  return (
    <figure class="chart card">
      <figcaption>{caption}</figcaption>
      <p class="muted small">{summary}</p>
      {children}
    </figure>
  );
}

const W = 320;
const H = 120;

/** Vertical bars over time (e.g. spend per day). */
export function BarChart({ caption, points, format, summary }: { caption: string; points: Point[]; format: (v: number) => string; summary: string }) {
  const max = Math.max(1, ...points.map((p) => p.value));
  const bw = W / Math.max(1, points.length);
  return (
    <Figure caption={caption} summary={summary}>
      <svg viewBox={`0 0 ${W} ${H + 2}`} role="img" aria-label={`${caption}: ${summary}`} preserveAspectRatio="none">
        <line x1="0" y1={H} x2={W} y2={H} class="axis" />
        {points.map((p, i) => {
          const h = (p.value / max) * (H - 6);
          return (
            <rect key={i} x={i * bw + 1} y={H - h} width={Math.max(1, bw - 2)} height={h} class="bar">
              <title>
                {p.label}: {format(p.value)}
              </title>
            </rect>
          );
        })}
      </svg>
      <Ticks points={points} />
      <Numbers caption={caption} points={points} format={format} />
    </Figure>
  );
}

/** A line over time (e.g. the balance at the end of each day). */
export function LineChart({ caption, points, format, summary }: { caption: string; points: Point[]; format: (v: number) => string; summary: string }) {
  const values = points.map((p) => p.value);
  const max = Math.max(1, ...values);
  const min = Math.min(0, ...values);
  const x = (i: number) => (points.length < 2 ? W / 2 : (i / (points.length - 1)) * W);
  const y = (v: number) => H - 4 - ((v - min) / (max - min || 1)) * (H - 10);
  const d = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  return (
    <Figure caption={caption} summary={summary}>
      <svg viewBox={`0 0 ${W} ${H + 2}`} role="img" aria-label={`${caption}: ${summary}`} preserveAspectRatio="none">
        <line x1="0" y1={H} x2={W} y2={H} class="axis" />
        <path d={d} class="line" />
      </svg>
      <Ticks points={points} />
      <Numbers caption={caption} points={points} format={format} />
    </Figure>
  );
}

/** Horizontal bars with their labels (e.g. missed leads by reason); `of` draws each bar against a limit (a cap). */
export function HBarChart({
  caption,
  rows,
  summary,
  format = (v) => String(v),
}: {
  caption: string;
  rows: { label: string; value: number; of?: number | null }[];
  summary: string;
  format?: (v: number) => string;
}) {
  const max = Math.max(1, ...rows.map((r) => Math.max(r.value, r.of ?? 0)));
  return (
    <Figure caption={caption} summary={summary}>
      {rows.length === 0 ? (
        <p class="empty">Nothing to show.</p>
      ) : (
        <ul class="hbars" aria-label={caption}>
          {rows.map((r, i) => (
            <li key={i}>
              <span class="hbar-label">
                {r.label}: {format(r.value)}
                {r.of ? ` of ${format(r.of)}` : ""}
              </span>
              <svg viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true" class="hbar">
                {r.of ? <rect x="0" y="0" width={(r.of / max) * 100} height="8" class="limit" /> : null}
                <rect x="0" y="0" width={(r.value / max) * 100} height="8" class={r.of && r.value >= r.of ? "bar full" : "bar"} />
              </svg>
            </li>
          ))}
        </ul>
      )}
    </Figure>
  );
}
