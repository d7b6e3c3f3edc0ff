import { useState } from "preact/hooks";
import { request } from "../api";
import { timeZones } from "../format";
import { graphql } from "../gql";
import { useForm } from "../hooks";
import { useSession } from "../session";
import { Notice, PageTitle, Section } from "../ui/common";
import { ErrorSummary, SelectField, Submit, TextField } from "../ui/forms";

const UpdateProfileDoc = graphql(`
  mutation UpdateProfile($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
      user {
        id
        name
        timeZone
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const ChangePasswordDoc = graphql(`
  mutation ChangePassword($input: ChangePasswordInput!) {
    changePassword(input: $input) {
      changed
      userErrors {
        field
        code
        message
      }
    }
  }
`);

export function Profile() {
  const { viewer, refresh } = useSession();
  const [name, setName] = useState(viewer.user.name);
  const [timeZone, setTimeZone] = useState(viewer.user.timeZone);
  const [saved, setSaved] = useState(false);
  const profile = useForm();

  const [currentPassword, setCurrent] = useState("");
  const [newPassword, setNew] = useState("");
  const [confirm, setConfirm] = useState("");
  const [changed, setChanged] = useState(false);
  const password = useForm();
  const zones = timeZones();

  return (
    <>
      <PageTitle>Your profile</PageTitle>
      <Section title="Name and time zone" id="profile-h">
        <p class="muted">Dates and times everywhere in Leadwire are shown in your time zone. E-mail: {viewer.user.email}</p>
        <ErrorSummary errors={profile.errors} />
        {saved && <Notice kind="success">Profile saved.</Notice>}
        <form
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            setSaved(false);
            const ok = await profile.submit(async () => (await request(UpdateProfileDoc, { input: { name, timeZone } })).updateProfile);
            if (ok) {
              setSaved(true);
              await refresh();
            }
          }}
        >
          <TextField name="name" label="Name" value={name} onValue={setName} errors={profile.errors} autoComplete="name" />
          <SelectField
            name="timeZone"
            label="Time zone"
            value={timeZone}
            onValue={setTimeZone}
            errors={profile.errors}
            options={(zones.includes(timeZone) ? zones : [timeZone, ...zones]).map((z) => ({ value: z, label: z }))}
          />
          <Submit busy={profile.busy}>Save profile</Submit>
        </form>
      </Section>
      <Section title="Password" id="password-h">
        <p class="muted">Changing your password signs out your other sessions.</p>
        <ErrorSummary errors={password.errors} />
        {changed && <Notice kind="success">Password changed.</Notice>}
        <form
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            setChanged(false);
            if (newPassword !== confirm) {
              await password.submit(async () => ({
                userErrors: [{ field: "confirmPassword", code: "INVALID", message: "The two new passwords differ." }],
              }));
              return;
            }
            const ok = await password.submit(
              async () => (await request(ChangePasswordDoc, { input: { currentPassword, newPassword } })).changePassword,
            );
            if (ok) {
              setChanged(true);
              setCurrent("");
              setNew("");
              setConfirm("");
            }
          }}
        >
          <TextField name="currentPassword" label="Current password" type="password" autoComplete="current-password" value={currentPassword} onValue={setCurrent} errors={password.errors} />
          <TextField name="newPassword" label="New password" type="password" autoComplete="new-password" value={newPassword} onValue={setNew} errors={password.errors} />
          <TextField name="confirmPassword" label="New password, again" type="password" autoComplete="new-password" value={confirm} onValue={setConfirm} errors={password.errors} />
          <Submit busy={password.busy}>Change password</Submit>
        </form>
      </Section>
    </>
  );
}
