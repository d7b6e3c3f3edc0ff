// Form fields that show the server's userErrors next to the right input (the
// error's `field` is the camelCase input path), and a summary of them all.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { UserError } from "../api";

export function fieldId(name: string): string {
  return "f-" + name.replace(/[^A-Za-z0-9_-]/g, "-");
}

export function errorsFor(errors: UserError[], name: string): UserError[] {
  return errors.filter((e) => e.field === name);
}

/** The same errors under other field names (several forms of one kind on a page: `stageId` -> `move-<lead>`). */
export function renameErrors(errors: UserError[], names: Record<string, string>): UserError[] {
  return errors.map((e) => (e.field && names[e.field] ? { ...e, field: names[e.field] } : e));
}

export function ErrorSummary({ errors, title = "Please correct the following" }: { errors: UserError[]; title?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (errors.length) ref.current?.focus();
  }, [errors]);
  if (!errors.length) return null;
  return (
    <div class="error-summary" role="alert" tabIndex={-1} ref={ref}>
      <h2>{errors.length === 1 && errors[0].field === null ? "Not saved" : title}</h2>
      <ul>
        {errors.map((e, i) => (
          <li key={i}>
            {e.field && document.getElementById(fieldId(e.field)) ? (
              <a
                href={`#${fieldId(e.field)}`}
                onClick={(ev) => {
                  ev.preventDefault();
                  document.getElementById(fieldId(e.field!))?.focus();
                }}
              >
                {e.message}
              </a>
            ) : (
              e.message
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function FieldErrors({ id, errors }: { id: string; errors: UserError[] }) {
  if (!errors.length) return null;
  return (
    <div class="field-error" id={`${id}-error`}>
      {errors.map((e, i) => (
        <p key={i}>
          <span class="visually-hidden">Error: </span>
          {e.message}
        </p>
      ))}
    </div>
  );
}

type InputProps = {
  type?: "text" | "email" | "password" | "number" | "search" | "tel" | "url" | "date";
  autoComplete?: string;
  required?: boolean;
  maxLength?: number;
  min?: number;
  max?: number;
  step?: string;
  inputMode?: "numeric" | "decimal" | "text" | "email" | "tel" | "url" | "search";
  placeholder?: string;
};

type Common = { name: string; label: ComponentChildren; errors?: UserError[]; hint?: ComponentChildren; class?: string };

function describedBy(id: string, hint: unknown, errs: UserError[]): string | undefined {
  const ids = [hint ? `${id}-hint` : "", errs.length ? `${id}-error` : ""].filter(Boolean).join(" ");
  return ids || undefined;
}

/** The wrapper every field shares: label, hint, the errors for its name, then the control. */
function FieldShell({
  id,
  label,
  hint,
  errs,
  cls,
  children,
}: {
  id: string;
  label: ComponentChildren;
  hint?: ComponentChildren;
  errs: UserError[];
  cls?: string;
  children: ComponentChildren;
}) {
  return (
    <div class={`field ${cls ?? ""} ${errs.length ? "has-error" : ""}`}>
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <FieldErrors id={id} errors={errs} />
      {children}
    </div>
  );
}

export function TextField({
  name,
  label,
  errors = [],
  hint,
  value,
  onValue,
  class: cls,
  type = "text",
  ...input
}: Common & { value: string; onValue: (v: string) => void } & InputProps) {
  const id = fieldId(name);
  const errs = errorsFor(errors, name);
  return (
    <FieldShell id={id} label={label} hint={hint} errs={errs} cls={cls}>
      <input
        {...input}
        // One input component for every text-like type (preact's types want a single literal).
        type={type as "text"}
        id={id}
        name={name}
        value={value}
        onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)}
        aria-invalid={errs.length ? "true" : undefined}
        aria-describedby={describedBy(id, hint, errs)}
      />
    </FieldShell>
  );
}

export function TextAreaField({
  name,
  label,
  errors = [],
  hint,
  value,
  onValue,
  rows = 4,
  class: cls,
  ...rest
}: Common & { value: string; onValue: (v: string) => void; rows?: number; autoComplete?: string }) {
  const id = fieldId(name);
  const errs = errorsFor(errors, name);
  return (
    <FieldShell id={id} label={label} hint={hint} errs={errs} cls={cls}>
      <textarea
        {...rest}
        id={id}
        name={name}
        rows={rows}
        value={value}
        onInput={(e) => onValue((e.currentTarget as HTMLTextAreaElement).value)}
        aria-invalid={errs.length ? "true" : undefined}
        aria-describedby={describedBy(id, hint, errs)}
      />
    </FieldShell>
  );
}

export function SelectField({
  name,
  label,
  errors = [],
  hint,
  value,
  onValue,
  options,
  class: cls,
  disabled,
  required,
}: Common & {
  value: string;
  onValue: (v: string) => void;
  options: { value: string; label: string }[];
  disabled?: boolean;
  required?: boolean;
}) {
  const id = fieldId(name);
  const errs = errorsFor(errors, name);
  return (
    <FieldShell id={id} label={label} hint={hint} errs={errs} cls={cls}>
      <select
        id={id}
        name={name}
        value={value}
        disabled={disabled}
        required={required}
        onChange={(e) => onValue((e.currentTarget as HTMLSelectElement).value)}
        aria-invalid={errs.length ? "true" : undefined}
        aria-describedby={describedBy(id, hint, errs)}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </FieldShell>
  );
}

export function CheckField({
  name,
  label,
  errors = [],
  hint,
  checked,
  onChecked,
  disabled,
}: Common & { checked: boolean; onChecked: (v: boolean) => void; disabled?: boolean }) {
  const id = fieldId(name);
  const errs = errorsFor(errors, name);
  return (
    <div class={`field check ${errs.length ? "has-error" : ""}`}>
      <FieldErrors id={id} errors={errs} />
      <input
        type="checkbox"
        id={id}
        name={name}
        checked={checked}
        disabled={disabled}
        onChange={(e) => onChecked((e.currentTarget as HTMLInputElement).checked)}
        aria-invalid={errs.length ? "true" : undefined}
        aria-describedby={describedBy(id, hint, errs)}
      />
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

/** Errors for the whole input or for fields this form does not show. */
export function OtherErrors({ errors, shown }: { errors: UserError[]; shown: string[] }) {
  const rest = errors.filter((e) => e.field === null || !shown.includes(e.field));
  if (!rest.length) return null;
  return (
    <div class="field-error">
      {rest.map((e, i) => (
        <p key={i}>{e.message}</p>
      ))}
    </div>
  );
}

export function Submit({
  busy,
  children,
  busyLabel = "Saving…",
  class: cls,
}: {
  busy: boolean;
  children: ComponentChildren;
  busyLabel?: string;
  class?: string;
}) {
  return (
    <button type="submit" class={cls ?? "primary"} disabled={busy} aria-busy={busy ? "true" : undefined}>
      {busy ? busyLabel : children}
    </button>
  );
}
