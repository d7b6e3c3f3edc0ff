// The registration page editor (owner, docs/workspace.md "The registration
// page"), with a live preview of the form as visitors see it.
import { useState } from "preact/hooks";
import { request } from "../api";
import { graphql } from "../gql";
import type { RegistrationPageQuery } from "../gql/graphql";
import { useForm, useQuery } from "../hooks";
import { ErrorBox, Loading, Notice, PageTitle, Section } from "../ui/common";
import { CheckField, ErrorSummary, OtherErrors, SelectField, Submit, TextAreaField, TextField } from "../ui/forms";

const PageDoc = graphql(`
  query RegistrationPage {
    registrationPage {
      id
      path
      enabled
      title
      intro
      submitLabel
      thankYouText
      consentText
      logoUrl
      redirectUrl
      rateLimitPerHour
      fields {
        name
        label
        required
      }
      colors {
        primary
        background
        text
      }
    }
  }
`);

const UpdateDoc = graphql(`
  mutation UpdateRegistrationPage($input: UpdateRegistrationPageInput!) {
    updateRegistrationPage(input: $input) {
      page {
        id
        path
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const STANDARD = [
  { value: "first_name", label: "First name" },
  { value: "last_name", label: "Last name" },
  { value: "full_name", label: "Full name" },
  { value: "email", label: "E-mail" },
  { value: "phone", label: "Phone" },
  { value: "postal_code", label: "ZIP code" },
  { value: "city", label: "City" },
  { value: "state", label: "State" },
  { value: "message", label: "Message" },
];

type PageData = RegistrationPageQuery["registrationPage"];
type Field = { name: string; label: string; required: boolean };

export function Registration() {
  const q = useQuery(PageDoc, {});
  if (!q.data) return q.error ? <ErrorBox message={q.error} retry={q.reload} /> : <Loading />;
  // A failed refresh after a save keeps the form (and its "saved" notice) on screen.
  return (
    <>
      {q.error && <ErrorBox message={q.error} retry={q.reload} />}
      <Editor key={q.data.registrationPage.path} page={q.data.registrationPage} onSaved={q.reload} />
    </>
  );
}

function Editor({ page, onSaved }: { page: PageData; onSaved: () => Promise<void> }) {
  const form = useForm();
  const [v, setV] = useState({
    enabled: page.enabled,
    title: page.title,
    intro: page.intro,
    submitLabel: page.submitLabel,
    thankYouText: page.thankYouText,
    consentText: page.consentText,
    logoUrl: page.logoUrl,
    redirectUrl: page.redirectUrl,
    rateLimitPerHour: String(page.rateLimitPerHour),
    primary: page.colors.primary,
    background: page.colors.background,
    text: page.colors.text,
  });
  const [fields, setFields] = useState<Field[]>(page.fields.map((f) => ({ ...f })));
  const [saved, setSaved] = useState(false);
  // Functional updates: two edits before a re-render must not drop one.
  const set = (k: keyof typeof v) => (value: string | boolean) => setV((prev) => ({ ...prev, [k]: value }));
  const setField = (i: number, patch: Partial<Field>) => setFields(fields.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  const url = `${window.location.origin}${page.path}`;
  const save = async (newUrl: boolean) => {
    setSaved(false);
    const ok = await form.submit(
      async () =>
        (
          await request(UpdateDoc, {
            input: {
              enabled: v.enabled,
              title: v.title,
              intro: v.intro,
              submitLabel: v.submitLabel,
              thankYouText: v.thankYouText,
              consentText: v.consentText,
              logoUrl: v.logoUrl,
              redirectUrl: v.redirectUrl,
              rateLimitPerHour: Number(v.rateLimitPerHour) || 0,
              colors: { primary: v.primary, background: v.background, text: v.text },
              fields,
              newUrl,
            },
          })
        ).updateRegistrationPage,
    );
    if (ok) {
      setSaved(true);
      await onSaved();
    }
  };
  const shown = ["enabled", "title", "intro", "submitLabel", "thankYouText", "consentText", "logoUrl", "redirectUrl", "rateLimitPerHour", "colors.primary", "colors.background", "colors.text", ...fields.flatMap((_, i) => [`fields.${i}.name`, `fields.${i}.label`, `fields.${i}`])];
  return (
    <>
      <PageTitle>Registration page</PageTitle>
      <p>
        Your page is at <a href={url}>{url}</a> {!page.enabled && <strong>(switched off)</strong>}
      </p>
      <div class="two-col editor">
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void save(false);
          }}
        >
          <ErrorSummary errors={form.errors} />
          <CheckField name="enabled" label="The page is online" checked={v.enabled} onChecked={set("enabled")} errors={form.errors} />
          <TextField name="title" label="Title" value={v.title} onValue={set("title")} errors={form.errors} />
          <TextAreaField name="intro" label="Introduction" rows={2} value={v.intro} onValue={set("intro")} errors={form.errors} />
          <fieldset class="field">
            <legend>Fields</legend>
            {fields.map((f, i) => (
              <div class="row field-row" key={i}>
                <SelectField
                  name={`fields.${i}.name`}
                  label={`Field ${i + 1}`}
                  value={STANDARD.some((s) => s.value === f.name) ? f.name : "custom"}
                  onValue={(name) => setField(i, name === "custom" ? { name: "data.", label: f.label } : { name, label: f.label || STANDARD.find((s) => s.value === name)!.label })}
                  errors={form.errors}
                  options={[...STANDARD, { value: "custom", label: "A field of my own…" }]}
                />
                {!STANDARD.some((s) => s.value === f.name) && (
                  <TextField name={`fields.${i}.key`} label="Its key (data.…)" value={f.name} onValue={(name) => setField(i, { name })} />
                )}
                <TextField name={`fields.${i}.label`} label="Label" value={f.label} onValue={(label) => setField(i, { label })} errors={form.errors} />
                <CheckField name={`fields.${i}.required`} label="Required" checked={f.required} onChecked={(required) => setField(i, { required })} />
                <button type="button" class="link-button" onClick={() => setFields(fields.filter((_, j) => j !== i))}>
                  Remove<span class="visually-hidden"> field {i + 1}</span>
                </button>
              </div>
            ))}
            <button type="button" onClick={() => setFields([...fields, { name: "phone", label: "Phone", required: false }])}>
              Add a field
            </button>
          </fieldset>
          <TextField name="submitLabel" label="Button" value={v.submitLabel} onValue={set("submitLabel")} errors={form.errors} />
          <TextAreaField name="consentText" label="Consent text" rows={2} value={v.consentText} onValue={set("consentText")} errors={form.errors} />
          <TextAreaField name="thankYouText" label="Thank-you text" rows={2} value={v.thankYouText} onValue={set("thankYouText")} errors={form.errors} />
          <TextField name="redirectUrl" label="After submitting, send the visitor to (optional)" type="url" value={v.redirectUrl} onValue={set("redirectUrl")} errors={form.errors} />
          <TextField name="logoUrl" label="Logo (an https URL, optional)" type="url" value={v.logoUrl} onValue={set("logoUrl")} errors={form.errors} />
          <div class="row">
            <TextField name="colors.primary" label="Button colour" value={v.primary} onValue={set("primary")} errors={form.errors} />
            <TextField name="colors.background" label="Background" value={v.background} onValue={set("background")} errors={form.errors} />
            <TextField name="colors.text" label="Text colour" value={v.text} onValue={set("text")} errors={form.errors} />
          </div>
          <TextField name="rateLimitPerHour" label="Submissions per visitor per hour" inputMode="numeric" value={v.rateLimitPerHour} onValue={set("rateLimitPerHour")} errors={form.errors} />
          <OtherErrors errors={form.errors} shown={shown} />
          <div class="button-row">
            <Submit busy={form.busy}>Save page</Submit>
            <button type="button" disabled={form.busy} onClick={() => confirm("Give the page a new address? The old one stops working.") && void save(true)}>
              New address
            </button>
          </div>
          {saved && <Notice kind="success">Registration page saved.</Notice>}
        </form>
        <Preview v={v} fields={fields} />
      </div>
    </>
  );
}

/** The form as visitors see it, from the values being edited (not yet saved). */
function Preview({ v, fields }: { v: { title: string; intro: string; submitLabel: string; consentText: string; logoUrl: string; primary: string; background: string; text: string }; fields: Field[] }) {
  const safe = (c: string, fallback: string) => (/^#[0-9a-fA-F]{3,8}$/.test(c) ? c : fallback);
  return (
    <Section title="Preview" id="preview-h">
      <div class="reg-preview" style={{ background: safe(v.background, "#ffffff"), color: safe(v.text, "#1b1f24") }} aria-label="Preview of the registration form" role="region">
        {v.logoUrl.startsWith("https://") && <p class="muted small">[logo: {v.logoUrl}]</p>}
        <p class="reg-title">{v.title}</p>
        {v.intro && <p>{v.intro}</p>}
        {fields.map((f, i) => (
          <div key={i} class="reg-field">
            <span>
              {f.label || f.name}
              {f.required && " *"}
            </span>
            <span class="reg-input" aria-hidden="true" />
          </div>
        ))}
        {v.consentText && <p class="small">{v.consentText}</p>}
        <span class="reg-button" style={{ background: safe(v.primary, "#0b5cad") }}>
          {v.submitLabel}
        </span>
      </div>
    </Section>
  );
}
