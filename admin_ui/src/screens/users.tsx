import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import { timeZones } from "../format";
import { graphql } from "../gql";
import type { UsersQuery } from "../gql/graphql";
import { useForm, usePaged, useQuery } from "../hooks";
import { idPath, Link, navigate } from "../router";
import { useSession } from "../session";
import { Badge, ErrorBox, LoadMore, Loading, Notice, OneTimeSecret, PageTitle, Section, TableWrap, Time } from "../ui/common";
import { ErrorSummary, SelectField, Submit, TextField } from "../ui/forms";

const UsersDoc = graphql(`
  query Users($first: Int, $after: String) {
    users(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          email
          timeZone
          isOwner
          barred
          createdAt
          manager {
            id
            name
          }
        }
      }
    }
  }
`);

const UserDoc = graphql(`
  query User($id: ID!, $first: Int, $after: String) {
    node(id: $id) {
      ... on User {
        id
        name
        email
        timeZone
        isOwner
        barred
        createdAt
        manager {
          id
          name
        }
        leads(first: $first, after: $after) {
          totalCount
          pageInfo {
            hasNextPage
            endCursor
          }
          edges {
            node {
              id
              firstName
              lastName
              city
              state
              postalCode
              createdAt
              product {
                name
              }
            }
          }
        }
      }
    }
  }
`);

const CreateUserDoc = graphql(`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        id
      }
      initialPassword
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const SetManagerDoc = graphql(`
  mutation SetManager($input: SetManagerInput!) {
    setManager(input: $input) {
      user {
        id
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const BarDoc = graphql(`
  mutation BarUser($input: UserInput!) {
    barUser(input: $input) {
      user {
        id
        barred
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const UnbarDoc = graphql(`
  mutation UnbarUser($input: UserInput!) {
    unbarUser(input: $input) {
      user {
        id
        barred
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const TransferDoc = graphql(`
  mutation TransferOwnership($input: UserInput!) {
    transferOwnership(input: $input) {
      user {
        id
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const DeleteDoc = graphql(`
  mutation DeleteUser($input: UserInput!) {
    deleteUser(input: $input) {
      deletedUserId
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const ReassignDoc = graphql(`
  mutation ReassignLeads($input: ReassignLeadsInput!) {
    reassignLeads(input: $input) {
      movedCount
      userErrors {
        field
        code
        message
      }
    }
  }
`);

type UserRow = UsersQuery["users"]["edges"][number]["node"];

/** Every user the viewer may see (pages of 100), for the tree and the pickers. */
function useAllUsers() {
  const [users, setUsers] = useState<UserRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async () => {
    setError(null);
    try {
      const all: UserRow[] = [];
      let after: string | null = null;
      for (;;) {
        const page: UsersQuery["users"] = (await request(UsersDoc, { first: 100, after })).users;
        all.push(...page.edges.map((e) => e.node));
        if (!page.pageInfo.hasNextPage || all.length >= 2000) break;
        after = page.pageInfo.endCursor;
      }
      setUsers(all);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    void load();
  }, []);
  return { users, error, reload: load };
}

function Tree({ users, parent, ids }: { users: UserRow[]; parent: string | null; ids: Set<string> }) {
  const children = users.filter((u) => (parent === null ? !u.manager || !ids.has(u.manager.id) : u.manager?.id === parent));
  if (!children.length) return null;
  return (
    <ul class={parent === null ? "tree" : "subtree"}>
      {children.map((u) => (
        <li key={u.id}>
          <Link to={idPath("users", u.id)}>{u.name}</Link> <span class="muted small">{u.email}</span>{" "}
          {u.isOwner && <Badge kind="good">Owner</Badge>} {u.barred && <Badge kind="bad">Barred</Badge>}
          <Tree users={users} parent={u.id} ids={ids} />
        </li>
      ))}
    </ul>
  );
}

export function Users() {
  const { isOwner, isOperator } = useSession();
  const all = useAllUsers();
  return (
    <>
      <PageTitle>{isOperator ? "Staff" : "Users and teams"}</PageTitle>
      <p>
        Each user sees their own leads and those of everyone below them, never a manager's or a colleague's beside them.
        {isOwner ? " As the owner you see everyone." : ""}
      </p>
      {all.error && <ErrorBox message={all.error} retry={all.reload} />}
      {!all.users && !all.error && <Loading />}
      {all.users && (
        <Section title="Who reports to whom" id="tree-h">
          <Tree users={all.users} parent={null} ids={new Set(all.users.map((u) => u.id))} />
        </Section>
      )}
      {isOwner && all.users && <CreateUser users={all.users} onCreated={all.reload} />}
    </>
  );
}

function managerOptions(users: UserRow[], exclude?: string) {
  return [
    { value: "", label: "Nobody (top of the tree)" },
    ...users.filter((u) => u.id !== exclude && !u.barred).map((u) => ({ value: u.id, label: `${u.name} (${u.email})` })),
  ];
}

function CreateUser({ users, onCreated }: { users: UserRow[]; onCreated: () => Promise<void> }) {
  const { viewer } = useSession();
  const blank = { email: "", name: "", managerId: "", timeZone: viewer.user.timeZone, password: "" };
  const [v, setV] = useState(blank);
  const [created, setCreated] = useState<{ name: string; password: string | null } | null>(null);
  const form = useForm();
  const set = (k: keyof typeof v) => (value: string) => setV({ ...v, [k]: value });
  const zones = timeZones();
  return (
    <Section title="Add a user" id="add-user-h">
      <ErrorSummary errors={form.errors} />
      {created && (created.password ? <OneTimeSecret label={`${created.name} was added. Their initial password:`} value={created.password} /> : <Notice kind="success">{created.name} was added.</Notice>)}
      <form
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setCreated(null);
          let password: string | null = null;
          const ok = await form.submit(async () => {
            const r = (
              await request(CreateUserDoc, {
                input: { email: v.email, name: v.name, managerId: v.managerId || null, timeZone: v.timeZone, password: v.password || null },
              })
            ).createUser;
            password = r.initialPassword ?? null;
            return r;
          });
          if (ok) {
            setCreated({ name: v.name, password });
            setV(blank);
            await onCreated();
          }
        }}
      >
        <div class="row">
          <TextField name="name" label="Name" value={v.name} onValue={set("name")} errors={form.errors} autoComplete="off" />
          <TextField name="email" label="E-mail" type="email" value={v.email} onValue={set("email")} errors={form.errors} autoComplete="off" />
        </div>
        <div class="row">
          <SelectField name="managerId" label="Reports to" value={v.managerId} onValue={set("managerId")} errors={form.errors} options={managerOptions(users)} />
          <SelectField name="timeZone" label="Time zone" value={v.timeZone} onValue={set("timeZone")} errors={form.errors} options={zones.map((z) => ({ value: z, label: z }))} />
        </div>
        <TextField
          name="password"
          label="Password (optional)"
          hint="Leave empty to get a one-time initial password to hand over. Someone who already has a Leadwire login keeps their password."
          type="password"
          autoComplete="new-password"
          value={v.password}
          onValue={set("password")}
          errors={form.errors}
        />
        <Submit busy={form.busy} busyLabel="Adding…">
          Add user
        </Submit>
      </form>
    </Section>
  );
}

export function UserPage({ id }: { id: string }) {
  const { isOwner, viewer, refresh } = useSession();
  const q = useQuery(UserDoc, { id, first: 1 });
  const leads = usePaged(UserDoc, { id }, (d) => (d.node && "leads" in d.node ? d.node.leads : null));
  const all = useAllUsers();
  const user = q.data?.node && "email" in q.data.node ? q.data.node : null;
  const [managerId, setManagerId] = useState("");
  const [reassignTo, setReassignTo] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const action = useForm();
  useEffect(() => {
    if (user) setManagerId(user.manager?.id ?? "");
  }, [user?.id, user?.manager?.id]);

  if (q.error) return <ErrorBox message={q.error} retry={q.reload} />;
  if (q.loading && !user) return <Loading />;
  if (!user) {
    return (
      <>
        <PageTitle>User not found</PageTitle>
        <p>
          They do not exist or you may not see them. <Link to="/users">All users</Link>
        </p>
      </>
    );
  }
  const isMe = user.id === viewer.user.id;
  const run = async (message: string, fn: () => Promise<{ userErrors: { field: string | null; code: string; message: string }[] }>) => {
    setDone(null);
    const ok = await action.submit(fn);
    if (ok) {
      setDone(message);
      await Promise.all([q.reload(), leads.reload(), all.reload()]);
    }
    return ok;
  };
  const others = (all.users ?? []).filter((u) => u.id !== user.id);

  return (
    <>
      <p class="breadcrumb">
        <Link to="/users">Users</Link>
      </p>
      <PageTitle>{user.name}</PageTitle>
      <ErrorSummary errors={action.errors} />
      {done && <Notice kind="success">{done}</Notice>}
      <div class="two-col">
        <Section title="Details" id="user-details-h">
          <dl class="facts">
            <dt>E-mail</dt>
            <dd>{user.email}</dd>
            <dt>Reports to</dt>
            <dd>{user.manager ? <Link to={idPath("users", user.manager.id)}>{user.manager.name}</Link> : "—"}</dd>
            <dt>Time zone</dt>
            <dd>{user.timeZone}</dd>
            <dt>Added</dt>
            <dd>
              <Time value={user.createdAt} />
            </dd>
            <dt>Role</dt>
            <dd>{user.isOwner ? <Badge kind="good">Account owner</Badge> : "User"}</dd>
            <dt>Access</dt>
            <dd>{user.barred ? <Badge kind="bad">Barred</Badge> : <Badge kind="good">Active</Badge>}</dd>
          </dl>
        </Section>
        {isOwner && !isMe && (
          <Section title="Manage" id="manage-h">
            <form
              class="inline-form"
              noValidate
              onSubmit={(e) => {
                e.preventDefault();
                void run("Manager changed.", async () => (await request(SetManagerDoc, { input: { userId: user.id, managerId: managerId || null } })).setManager);
              }}
            >
              <SelectField name="managerId" label="Reports to" value={managerId} onValue={setManagerId} errors={action.errors} options={managerOptions(others)} />
              <Submit busy={action.busy}>Change manager</Submit>
            </form>
            <div class="button-row">
              {user.barred ? (
                <button type="button" disabled={action.busy} onClick={() => void run(`${user.name} can sign in again.`, async () => (await request(UnbarDoc, { input: { userId: user.id } })).unbarUser)}>
                  Lift the bar
                </button>
              ) : (
                <button
                  type="button"
                  class="danger"
                  disabled={action.busy}
                  onClick={() => {
                    if (confirm(`Bar ${user.name}? Their access stops on their very next request.`))
                      void run(`${user.name} is barred: reassign their leads below, then you may delete them.`, async () => (await request(BarDoc, { input: { userId: user.id } })).barUser);
                  }}
                >
                  Bar user
                </button>
              )}
              {!user.barred && (
                <button
                  type="button"
                  disabled={action.busy}
                  onClick={async () => {
                    if (!confirm(`Make ${user.name} the account owner? You will no longer be the owner.`)) return;
                    const ok = await run(`${user.name} is now the account owner.`, async () => (await request(TransferDoc, { input: { userId: user.id } })).transferOwnership);
                    if (ok) await refresh();
                  }}
                >
                  Make account owner
                </button>
              )}
              {user.barred && (
                <button
                  type="button"
                  class="danger"
                  disabled={action.busy}
                  onClick={async () => {
                    if (!confirm(`Delete ${user.name}? This cannot be undone.`)) return;
                    const ok = await run("User deleted.", async () => (await request(DeleteDoc, { input: { userId: user.id } })).deleteUser);
                    if (ok) navigate("/users");
                  }}
                >
                  Delete user
                </button>
              )}
            </div>
          </Section>
        )}
      </div>
      {others.length > 0 && (leads.totalCount ?? 0) > 0 && (
        <Section title="Reassign leads" id="reassign-h">
          <form
            class="inline-form"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              void run("Leads reassigned.", async () => (await request(ReassignDoc, { input: { fromUserId: user.id, toUserId: reassignTo } })).reassignLeads);
            }}
          >
            <SelectField
              name="toUserId"
              label={`Move every lead of ${user.name} to`}
              value={reassignTo}
              onValue={setReassignTo}
              errors={action.errors}
              options={[{ value: "", label: "Choose a user" }, ...others.filter((u) => !u.barred).map((u) => ({ value: u.id, label: u.name }))]}
            />
            <Submit busy={action.busy}>Reassign</Submit>
          </form>
        </Section>
      )}
      <Section title={`Leads assigned to ${user.name}`} id="user-leads-h">
        <TableWrap label={`Leads of ${user.name}`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Location</th>
                <th scope="col">Product</th>
                <th scope="col">Received</th>
              </tr>
            </thead>
            <tbody>
              {leads.items.map((l) => (
                <tr key={l.id}>
                  <td>
                    <Link to={idPath("leads", l.id)}>
                      {l.firstName} {l.lastName}
                    </Link>
                  </td>
                  <td>
                    {l.city} {l.state} {l.postalCode}
                  </td>
                  <td>{l.product?.name ?? "—"}</td>
                  <td>
                    <Time value={l.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
        <LoadMore page={leads} noun="leads" />
      </Section>
    </>
  );
}
