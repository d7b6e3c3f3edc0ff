import { useState } from "preact/hooks";
import { request, setCsrfToken } from "../api";
import { timeZones } from "../format";
import { graphql } from "../gql";
import { useForm } from "../hooks";
import { Link } from "../router";
import { ErrorSummary, SelectField, Submit, TextField } from "../ui/forms";

const SignInDoc = graphql(`
  mutation SignIn($input: SignInInput!) {
    signIn(input: $input) {
      csrfToken
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const SignUpDoc = graphql(`
  mutation SignUpPartner($input: SignUpPartnerInput!) {
    signUpPartner(input: $input) {
      csrfToken
      userErrors {
        field
        code
        message
      }
    }
  }
`);

export function SignIn({ onSignedIn, notice }: { onSignedIn: () => void; notice: string | null }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const form = useForm();
  return (
    <main id="main" class="auth-page">
      <div class="auth-card">
        <p class="brand-large" aria-hidden="true">
          Leadwire
        </p>
        <h1>Sign in</h1>
        {notice && !form.errors.length && (
          <div class="notice warning" role="status">
            {notice}
          </div>
        )}
        <ErrorSummary errors={form.errors} title="Could not sign in" />
        <form
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            let token: string | null = null;
            const ok = await form.submit(async () => {
              const r = (await request(SignInDoc, { input: { email, password } })).signIn;
              token = r.csrfToken ?? null;
              return r;
            });
            if (ok) {
              setCsrfToken(token);
              onSignedIn();
            }
          }}
        >
          <TextField
            name="email"
            label="E-mail"
            type="email"
            autoComplete="username"
            required
            value={email}
            onValue={setEmail}
            errors={form.errors}
          />
          <TextField
            name="password"
            label="Password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onValue={setPassword}
            errors={form.errors}
          />
          <Submit busy={form.busy} busyLabel="Signing in…">
            Sign in
          </Submit>
        </form>
        <p class="auth-alt">
          New partner? <Link to="/signup">Create a free partner account</Link>
        </p>
      </div>
    </main>
  );
}

export function SignUp({ onSignedIn }: { onSignedIn: () => void }) {
  const [v, setV] = useState({
    companyName: "",
    ownerName: "",
    email: "",
    password: "",
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || "America/New_York",
    phone: "",
    website: "",
  });
  const set = (k: keyof typeof v) => (value: string) => setV({ ...v, [k]: value });
  const form = useForm();
  const zones = timeZones();
  return (
    <main id="main" class="auth-page">
      <div class="auth-card wide">
        <p class="brand-large" aria-hidden="true">
          Leadwire
        </p>
        <h1>Become a partner</h1>
        <p>No cost to get started: no registration fee, no monthly fees, no contracts. You pay only for the leads you receive.</p>
        <ErrorSummary errors={form.errors} />
        <form
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            let token: string | null = null;
            const ok = await form.submit(async () => {
              const r = (
                await request(SignUpDoc, {
                  input: { ...v, phone: v.phone || null, website: v.website || null },
                })
              ).signUpPartner;
              token = r.csrfToken ?? null;
              return r;
            });
            if (ok) {
              setCsrfToken(token);
              onSignedIn();
            }
          }}
        >
          <TextField name="companyName" label="Company name" required value={v.companyName} onValue={set("companyName")} errors={form.errors} autoComplete="organization" />
          <TextField name="ownerName" label="Your name" required value={v.ownerName} onValue={set("ownerName")} errors={form.errors} autoComplete="name" />
          <TextField name="email" label="E-mail" type="email" required value={v.email} onValue={set("email")} errors={form.errors} autoComplete="email" />
          <TextField name="password" label="Password" type="password" required value={v.password} onValue={set("password")} errors={form.errors} autoComplete="new-password" />
          <SelectField
            name="timeZone"
            label="Your time zone"
            value={v.timeZone}
            onValue={set("timeZone")}
            errors={form.errors}
            options={zones.map((z) => ({ value: z, label: z }))}
          />
          <TextField name="phone" label="Phone (optional)" type="tel" value={v.phone} onValue={set("phone")} errors={form.errors} autoComplete="tel" />
          <TextField name="website" label="Website (optional)" type="url" value={v.website} onValue={set("website")} errors={form.errors} autoComplete="url" />
          <Submit busy={form.busy} busyLabel="Creating your account…">
            Create account
          </Submit>
        </form>
        <p class="auth-alt">
          Already a partner? <Link to="/login">Sign in</Link>
        </p>
      </div>
    </main>
  );
}
