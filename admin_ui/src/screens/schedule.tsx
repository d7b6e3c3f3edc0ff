// The Schedule tab's weekly grid: windows per day in the campaign's time zone.
import type { UserError } from "../api";
import { fieldId } from "../ui/forms";

export type Window = { day: number; start: string; end: string };

export const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

function times(from: number, to: number): string[] {
  const out: string[] = [];
  for (let m = from; m <= to; m += 30) out.push(`${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`);
  return out;
}
const STARTS = times(0, 23 * 60 + 30);
const ENDS = times(30, 24 * 60);

function minutes(t: string): number {
  const [h, m] = t.split(":").map(Number);
  return h * 60 + m;
}

function withValue(list: string[], v: string): string[] {
  return list.includes(v) ? list : [...list, v].sort();
}

function sorted(ws: Window[]): Window[] {
  return [...ws].sort((a, b) => a.day - b.day || a.start.localeCompare(b.start));
}

/** The week at a glance: one row per day, one cell per hour, filled when open. */
function WeekGrid({ windows }: { windows: Window[] }) {
  return (
    <div class="week-grid" aria-hidden="true">
      <div class="week-hours">
        <span />
        {Array.from({ length: 24 }, (_, h) => (
          <span key={h}>{h % 3 === 0 ? h : ""}</span>
        ))}
      </div>
      {DAYS.map((d, day) => (
        <div class="week-row" key={d}>
          <span class="week-day">{d.slice(0, 3)}</span>
          {Array.from({ length: 24 }, (_, h) => {
            const open = windows.some((w) => w.day === day && minutes(w.start) < (h + 1) * 60 && minutes(w.end) > h * 60);
            const full = windows.some((w) => w.day === day && minutes(w.start) <= h * 60 && minutes(w.end) >= (h + 1) * 60);
            return <span key={h} class={`cell ${full ? "open" : open ? "part" : ""}`} />;
          })}
        </div>
      ))}
    </div>
  );
}

export function summary(windows: Window[]): string {
  if (!windows.length) return "Always open";
  return DAYS.map((d, day) => {
    const ws = windows.filter((w) => w.day === day);
    return `${d.slice(0, 3)} ${ws.length ? ws.map((w) => `${w.start}–${w.end}`).join(", ") : "closed"}`;
  }).join(" · ");
}

export function ScheduleEditor({
  windows,
  onChange,
  errors,
  disabled,
}: {
  windows: Window[];
  onChange: (ws: Window[]) => void;
  errors: UserError[];
  disabled: boolean;
}) {
  const always = windows.length === 0;
  const update = (i: number, w: Window) => onChange(windows.map((x, j) => (j === i ? w : x)));
  const errorId = `${fieldId("schedule")}-error`;
  return (
    <div class="schedule">
      <WeekGrid windows={windows} />
      <p class="visually-hidden">{summary(windows)}</p>
      {errors.length > 0 && (
        <div class="field-error" id={errorId}>
          {errors.map((e, i) => (
            <p key={i}>{e.message}</p>
          ))}
        </div>
      )}
      <fieldset class="radio-group" aria-describedby={errors.length ? errorId : undefined}>
        <legend>When leads may arrive</legend>
        <label class="radio">
          <input type="radio" name="scheduleMode" id={fieldId("schedule")} checked={always} onChange={() => onChange([])} /> Any time (no
          schedule)
        </label>
        <label class="radio">
          <input
            type="radio"
            name="scheduleMode"
            checked={!always}
            onChange={() => onChange(Array.from({ length: 5 }, (_, day) => ({ day, start: "08:00", end: "20:00" })))}
          />{" "}
          Only during these hours
        </label>
      </fieldset>
      {!always && (
        <>
          <div class="schedule-presets">
            <button type="button" disabled={disabled} onClick={() => onChange(Array.from({ length: 5 }, (_, day) => ({ day, start: "08:00", end: "20:00" })))}>
              Weekdays 08:00–20:00
            </button>
            <button type="button" disabled={disabled} onClick={() => onChange(Array.from({ length: 7 }, (_, day) => ({ day, start: "00:00", end: "24:00" })))}>
              Every day, all day
            </button>
            <button
              type="button"
              disabled={disabled || !windows.some((w) => w.day === 0)}
              onClick={() => {
                const monday = windows.filter((w) => w.day === 0);
                onChange(sorted(Array.from({ length: 7 }, (_, day) => monday.map((w) => ({ ...w, day }))).flat()));
              }}
            >
              Copy Monday to every day
            </button>
          </div>
          <table class="schedule-table">
            <caption class="visually-hidden">Opening hours per day</caption>
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col">Hours</th>
              </tr>
            </thead>
            <tbody>
              {DAYS.map((d, day) => {
                const mine = windows.map((w, i) => ({ w, i })).filter((x) => x.w.day === day);
                return (
                  <tr key={d}>
                    <th scope="row">{d}</th>
                    <td>
                      {mine.length === 0 && <span class="muted">Closed </span>}
                      {mine.map(({ w, i }, k) => (
                        <div class="window" key={i}>
                          <label>
                            <span class="visually-hidden">
                              {d}, hours {k + 1},{" "}
                            </span>
                            from{" "}
                            <select value={w.start} onChange={(e) => update(i, { ...w, start: (e.currentTarget as HTMLSelectElement).value })}>
                              {withValue(STARTS, w.start).map((t) => (
                                <option key={t}>{t}</option>
                              ))}
                            </select>
                          </label>{" "}
                          <label>
                            <span class="visually-hidden">
                              {d}, hours {k + 1},{" "}
                            </span>
                            to{" "}
                            <select value={w.end} onChange={(e) => update(i, { ...w, end: (e.currentTarget as HTMLSelectElement).value })}>
                              {withValue(ENDS, w.end).map((t) => (
                                <option key={t}>{t}</option>
                              ))}
                            </select>
                          </label>{" "}
                          <button type="button" class="link-button" onClick={() => onChange(windows.filter((_, j) => j !== i))}>
                            Remove<span class="visually-hidden"> {d} hours {k + 1}</span>
                          </button>
                        </div>
                      ))}
                      <button
                        type="button"
                        class="link-button"
                        onClick={() => {
                          const last = mine[mine.length - 1]?.w;
                          const start = last && minutes(last.end) < 24 * 60 ? last.end : "08:00";
                          const end = ENDS.find((t) => minutes(t) >= minutes(start) + 60) ?? "24:00";
                          onChange(sorted([...windows, { day, start, end }]));
                        }}
                      >
                        Add hours<span class="visually-hidden"> on {d}</span>
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
