// Setting up the workspace (owner, docs/workspace.md): pipeline stages, lost
// reasons, feedback questions, assignment rules and the manual queue.
import { useState } from "preact/hooks";
import { request, type UserError } from "../api";
import { humanize } from "../format";
import { graphql } from "../gql";
import type { AssignmentMethod, FeedbackQuestionKind } from "../gql/graphql";
import { useForm, useQuery } from "../hooks";
import { Link } from "../router";
import { useSession } from "../session";
import { Badge, ErrorBox, Loading, Notice, PageTitle, Section, TableWrap } from "../ui/common";
import { CheckField, ErrorSummary, OtherErrors, renameErrors, SelectField, Submit, TextField } from "../ui/forms";

const WorkspaceDoc = graphql(`
  query WorkspaceSetup {
    pipeline {
      maxStages
      stages {
        id
        name
        probability
        kind
        leadCount
      }
    }
    lostReasons(includeArchived: true) {
      id
      name
      archived
    }
    feedbackQuestions(includeArchived: true) {
      id
      text
      kind
      compulsory
      archived
      requiredAtStage {
        id
        name
      }
      choices {
        id
        label
        archived
      }
    }
    assignmentSettings {
      manualAssignee {
        id
        name
      }
      rules {
        id
        name
        priority
        active
        method
        users {
          id
          name
        }
        conditions {
          states
          postalCodes
          origins
          missingPhone
          missingEmail
        }
      }
    }
    users(first: 100) {
      edges {
        node {
          id
          name
          barred
        }
      }
    }
  }
`);

const AddStageDoc = graphql(`
  mutation AddStage($input: AddPipelineStageInput!) {
    addPipelineStage(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const UpdateStageDoc = graphql(`
  mutation UpdateStage($input: UpdatePipelineStageInput!) {
    updatePipelineStage(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const DeleteStageDoc = graphql(`
  mutation DeleteStage($input: DeletePipelineStageInput!) {
    deletePipelineStage(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const ReorderStagesDoc = graphql(`
  mutation ReorderStages($input: ReorderPipelineStagesInput!) {
    reorderPipelineStages(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const CreateReasonDoc = graphql(`
  mutation CreateLostReason($input: CreateLostReasonInput!) {
    createLostReason(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const UpdateReasonDoc = graphql(`
  mutation UpdateLostReason($input: UpdateLostReasonInput!) {
    updateLostReason(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const CreateQuestionDoc = graphql(`
  mutation CreateQuestion($input: CreateFeedbackQuestionInput!) {
    createFeedbackQuestion(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const UpdateQuestionDoc = graphql(`
  mutation UpdateQuestion($input: UpdateFeedbackQuestionInput!) {
    updateFeedbackQuestion(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const AddChoiceDoc = graphql(`
  mutation AddFeedbackChoice($input: AddFeedbackChoiceInput!) {
    addFeedbackChoice(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const ArchiveChoiceDoc = graphql(`
  mutation ArchiveFeedbackChoice($input: ArchiveFeedbackChoiceInput!) {
    archiveFeedbackChoice(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const CreateRuleDoc = graphql(`
  mutation CreateRule($input: CreateAssignmentRuleInput!) {
    createAssignmentRule(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const UpdateRuleDoc = graphql(`
  mutation UpdateRule($input: UpdateAssignmentRuleInput!) {
    updateAssignmentRule(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const DeleteRuleDoc = graphql(`
  mutation DeleteRule($input: RuleIdInput!) {
    deleteAssignmentRule(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const ReorderRulesDoc = graphql(`
  mutation ReorderRules($input: ReorderAssignmentRulesInput!) {
    reorderAssignmentRules(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const ManualAssigneeDoc = graphql(`
  mutation SetManualAssignee($input: SetManualAssigneeInput!) {
    setManualAssignee(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);

type Payload = { userErrors: UserError[] };

function list(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function move<T>(items: T[], i: number, by: number): T[] {
  const copy = [...items];
  const [it] = copy.splice(i, 1);
  copy.splice(i + by, 0, it);
  return copy;
}

export function WorkspaceSetup() {
  const { isOwner } = useSession();
  const q = useQuery(WorkspaceDoc, {});
  const act = useForm();
  if (!isOwner)
    return (
      <>
        <PageTitle>Workspace set-up</PageTitle>
        <p>Only the account's owner sets up the workspace.</p>
      </>
    );
  if (q.error) return <ErrorBox message={q.error} retry={q.reload} />;
  if (!q.data) return <Loading />;
  const d = q.data;
  const users = d.users.edges.map((e) => e.node);
  /** Run a one-click change (archive, delete, reorder) and reload; its errors show at the top. */
  const run = async (fn: () => Promise<Payload>) => {
    if (await act.submit(fn)) await q.reload();
  };
  const stages = d.pipeline.stages;
  const open = stages.filter((s) => s.kind === "OPEN");
  return (
    <>
      <PageTitle actions={<Link to="/pipeline">Open the pipeline</Link>}>Workspace set-up</PageTitle>
      <p class="muted">
        See also: <Link to="/import">import leads from a file</Link> · <Link to="/registration">the registration page</Link>
      </p>
      <ErrorSummary errors={act.errors} title="Not changed" />
      <Section title={`Pipeline stages (${stages.length} of at most ${d.pipeline.maxStages})`} id="stages-h">
        <TableWrap label="Stages">
          <table>
            <thead>
              <tr>
                <th scope="col">Stage</th>
                <th scope="col">Probability</th>
                <th scope="col">Leads</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {stages.map((s, i) => (
                <tr key={s.id}>
                  <td>
                    {s.name} {s.kind === "CLOSING" && <span class="muted small">(closing: won or lost)</span>}
                  </td>
                  <td>{s.kind === "CLOSING" ? "—" : `${s.probability} %`}</td>
                  <td>{s.leadCount}</td>
                  <td class="row-actions">
                    {s.kind === "OPEN" && (
                      <>
                        <button
                          type="button"
                          disabled={i === 0 || act.busy}
                          onClick={() => void run(async () => (await request(ReorderStagesDoc, { input: { stageIds: move(stages, i, -1).map((x) => x.id) } })).reorderPipelineStages)}
                        >
                          Up<span class="visually-hidden"> ({s.name})</span>
                        </button>
                        <button
                          type="button"
                          disabled={i >= open.length - 1 || act.busy}
                          onClick={() => void run(async () => (await request(ReorderStagesDoc, { input: { stageIds: move(stages, i, 1).map((x) => x.id) } })).reorderPipelineStages)}
                        >
                          Down<span class="visually-hidden"> ({s.name})</span>
                        </button>
                        <button
                          type="button"
                          class="danger"
                          disabled={act.busy || open.length < 2}
                          onClick={() => {
                            const target = open.find((o) => o.id !== s.id)!;
                            if (s.leadCount && !confirm(`Delete ${s.name} and move its ${s.leadCount} leads to ${target.name}?`)) return;
                            void run(async () =>
                              (await request(DeleteStageDoc, { input: { stageId: s.id, moveLeadsToStageId: s.leadCount ? target.id : null } })).deletePipelineStage,
                            );
                          }}
                        >
                          Delete<span class="visually-hidden"> {s.name}</span>
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
        <StageForm stages={stages} onSaved={q.reload} />
      </Section>

      <Section title="Lost reasons" id="reasons-h">
        <ul class="plain cards">
          {d.lostReasons.map((r) => (
            <li key={r.id}>
              <span>
                {r.name} {r.archived && <Badge>Archived</Badge>}
              </span>
              <button
                type="button"
                disabled={act.busy}
                onClick={() => void run(async () => (await request(UpdateReasonDoc, { input: { lostReasonId: r.id, archived: !r.archived } })).updateLostReason)}
              >
                {r.archived ? "Offer again" : "Archive"}
                <span class="visually-hidden"> {r.name}</span>
              </button>
            </li>
          ))}
        </ul>
        <OneFieldForm
          name="reasonName"
          serverName="name"
          label="New lost reason"
          button="Add reason"
          onSubmit={async (name) => (await request(CreateReasonDoc, { input: { name } })).createLostReason}
          onSaved={q.reload}
        />
      </Section>

      <Section title="Feedback questions" id="questions-h">
        <ul class="plain cards">
          {d.feedbackQuestions.map((fq) => (
            <li key={fq.id}>
              <span>
                {fq.text} <span class="muted small">({humanize(fq.kind)}{fq.choices.length ? `: ${fq.choices.filter((c) => !c.archived).map((c) => c.label).join(", ")}` : ""})</span>{" "}
                {fq.compulsory && <Badge kind="warn">Required {fq.requiredAtStage ? `from ${fq.requiredAtStage.name}` : "to close"}</Badge>}{" "}
                {fq.archived && <Badge>Archived</Badge>}
              </span>
              <button
                type="button"
                disabled={act.busy}
                onClick={() => void run(async () => (await request(UpdateQuestionDoc, { input: { questionId: fq.id, archived: !fq.archived } })).updateFeedbackQuestion)}
              >
                {fq.archived ? "Ask again" : "Archive"}
                <span class="visually-hidden"> “{fq.text}”</span>
              </button>
              {fq.kind === "CHOICE" && !fq.archived && (
                <div class="choices">
                  <ul class="plain inline-list">
                    {fq.choices.map((c) => (
                      <li key={c.id}>
                        <span class={c.archived ? "muted" : undefined}>{c.label}</span>{" "}
                        <button
                          type="button"
                          class="link-button"
                          disabled={act.busy}
                          onClick={() => void run(async () => (await request(ArchiveChoiceDoc, { input: { choiceId: c.id, archived: !c.archived } })).archiveFeedbackChoice)}
                        >
                          {c.archived ? "offer again" : "archive"}
                          <span class="visually-hidden"> the choice {c.label}</span>
                        </button>
                      </li>
                    ))}
                  </ul>
                  <OneFieldForm
                    name={`choice-${fq.id}`}
                    serverName="label"
                    label={`New choice for “${fq.text}”`}
                    button="Add choice"
                    onSubmit={async (label) => (await request(AddChoiceDoc, { input: { questionId: fq.id, label } })).addFeedbackChoice}
                    onSaved={q.reload}
                  />
                </div>
              )}
            </li>
          ))}
        </ul>
        <QuestionForm stages={stages} onSaved={q.reload} />
      </Section>

      <Section title="Assignment rules" id="rules-h">
        <p class="muted">
          New leads are given to the first rule that matches (top first). A lead no rule takes waits in the manual queue of{" "}
          <strong>{d.assignmentSettings.manualAssignee.name}</strong>.
        </p>
        <ol class="plain rules">
          {d.assignmentSettings.rules.map((r, i, rules) => (
            <li key={r.id} class="cards-row">
              <span>
                <strong>{r.name}</strong> — {humanize(r.method)} to {r.users.map((u) => u.name).join(", ") || "nobody"}
                <span class="muted small">
                  {" "}
                  when {describeConditions(r.conditions)}
                </span>{" "}
                {!r.active && <Badge>Off</Badge>}
              </span>
              <span class="row-actions">
                <button
                  type="button"
                  disabled={i === 0 || act.busy}
                  onClick={() => void run(async () => (await request(ReorderRulesDoc, { input: { ruleIds: move(rules, i, -1).map((x) => x.id) } })).reorderAssignmentRules)}
                >
                  Up<span class="visually-hidden"> ({r.name})</span>
                </button>
                <button
                  type="button"
                  disabled={i === rules.length - 1 || act.busy}
                  onClick={() => void run(async () => (await request(ReorderRulesDoc, { input: { ruleIds: move(rules, i, 1).map((x) => x.id) } })).reorderAssignmentRules)}
                >
                  Down<span class="visually-hidden"> ({r.name})</span>
                </button>
                <button
                  type="button"
                  disabled={act.busy}
                  onClick={() => void run(async () => (await request(UpdateRuleDoc, { input: { ruleId: r.id, active: !r.active } })).updateAssignmentRule)}
                >
                  {r.active ? "Turn off" : "Turn on"}
                  <span class="visually-hidden"> ({r.name})</span>
                </button>
                <button
                  type="button"
                  class="danger"
                  disabled={act.busy}
                  onClick={() => confirm(`Delete the rule ${r.name}?`) && void run(async () => (await request(DeleteRuleDoc, { input: { ruleId: r.id } })).deleteAssignmentRule)}
                >
                  Delete<span class="visually-hidden"> ({r.name})</span>
                </button>
              </span>
            </li>
          ))}
        </ol>
        <RuleForm users={users} onSaved={q.reload} />
        <div class="inline-form">
          <SelectField
            name="manualAssignee"
            label="Manual queue: leads no rule takes go to"
            value={d.assignmentSettings.manualAssignee.id}
            onValue={(userId) => void run(async () => (await request(ManualAssigneeDoc, { input: { userId } })).setManualAssignee)}
            options={users.filter((u) => !u.barred).map((u) => ({ value: u.id, label: u.name }))}
          />
        </div>
      </Section>
    </>
  );
}

function describeConditions(c: { states: string[]; postalCodes: string[]; origins: string[]; missingPhone?: boolean | null; missingEmail?: boolean | null }): string {
  const parts = [
    c.states.length ? `state is ${c.states.join(" or ")}` : "",
    c.postalCodes.length ? `ZIP starts ${c.postalCodes.join(" or ")}` : "",
    c.origins.length ? `it came from ${c.origins.map((o) => humanize(o).toLowerCase()).join(" or ")}` : "",
    c.missingPhone ? "it has no phone" : "",
    c.missingEmail ? "it has no e-mail" : "",
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : "any lead";
}

function OneFieldForm({
  name,
  serverName,
  label,
  button,
  onSubmit,
  onSaved,
}: {
  name: string;
  serverName: string;
  label: string;
  button: string;
  onSubmit: (value: string) => Promise<Payload>;
  onSaved: () => Promise<void>;
}) {
  const form = useForm();
  const [value, setValue] = useState("");
  const errors = renameErrors(form.errors, { [serverName]: name });
  return (
    <form
      class="inline-form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        if (await form.submit(() => onSubmit(value))) {
          setValue("");
          await onSaved();
        }
      }}
    >
      <TextField name={name} label={label} value={value} onValue={setValue} errors={errors} />
      <Submit busy={form.busy}>{button}</Submit>
      <OtherErrors errors={errors} shown={[name]} />
    </form>
  );
}

function StageForm({ stages, onSaved }: { stages: { id: string; name: string; kind: string }[]; onSaved: () => Promise<void> }) {
  const form = useForm();
  const [editing, setEditing] = useState("");
  const [name, setName] = useState("");
  const [probability, setProbability] = useState("20");
  const errors = renameErrors(form.errors, { name: "stageName", probability: "stageProbability" });
  return (
    <form
      class="inline-form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const p = Number(probability);
        const ok = await form.submit(async () =>
          editing
            ? (await request(UpdateStageDoc, { input: { stageId: editing, name: name || null, probability: Number.isInteger(p) ? p : null } })).updatePipelineStage
            : (await request(AddStageDoc, { input: { name, probability: Number.isInteger(p) ? p : -1 } })).addPipelineStage,
        );
        if (ok) {
          setName("");
          await onSaved();
        }
      }}
    >
      <SelectField
        name="stageId"
        label="Stage"
        value={editing}
        onValue={(v) => {
          setEditing(v);
          setName(stages.find((s) => s.id === v)?.name ?? "");
        }}
        errors={errors}
        options={[{ value: "", label: "A new stage" }, ...stages.map((s) => ({ value: s.id, label: `Change ${s.name}` }))]}
      />
      <TextField name="stageName" label="Stage name" value={name} onValue={setName} errors={errors} />
      <TextField name="stageProbability" label="Probability (%)" inputMode="numeric" value={probability} onValue={setProbability} errors={errors} />
      <Submit busy={form.busy}>{editing ? "Save stage" : "Add stage"}</Submit>
      <OtherErrors errors={errors} shown={["stageId", "stageName", "stageProbability"]} />
    </form>
  );
}

const KINDS: FeedbackQuestionKind[] = ["YES_NO", "CHOICE", "NUMBER", "TEXT"];

function QuestionForm({ stages, onSaved }: { stages: { id: string; name: string; kind: string }[]; onSaved: () => Promise<void> }) {
  const form = useForm();
  const [text, setText] = useState("");
  const [kind, setKind] = useState<FeedbackQuestionKind>("YES_NO");
  const [choices, setChoices] = useState("");
  const [compulsory, setCompulsory] = useState(false);
  const [stage, setStage] = useState("");
  return (
    <form
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await form.submit(
          async () =>
            (
              await request(CreateQuestionDoc, {
                input: { text, kind, choices: kind === "CHOICE" ? list(choices) : null, compulsory, requiredAtStageId: compulsory && stage ? stage : null },
              })
            ).createFeedbackQuestion,
        );
        if (ok) {
          setText("");
          setChoices("");
          await onSaved();
        }
      }}
    >
      <h3>Ask a new question</h3>
      <div class="row">
        <TextField name="text" label="Question" value={text} onValue={setText} errors={form.errors} />
        <SelectField name="kind" label="Answer" value={kind} onValue={(v) => setKind(v as FeedbackQuestionKind)} errors={form.errors} options={KINDS.map((k) => ({ value: k, label: humanize(k) }))} />
        {kind === "CHOICE" && <TextField name="choices" label="Choices (comma-separated)" value={choices} onValue={setChoices} errors={form.errors} />}
      </div>
      <div class="row">
        <CheckField name="compulsory" label="Compulsory" checked={compulsory} onChecked={setCompulsory} errors={form.errors} />
        {compulsory && (
          <SelectField
            name="requiredAtStageId"
            label="Required from the stage"
            value={stage}
            onValue={setStage}
            errors={form.errors}
            options={[{ value: "", label: "Before it is won or lost" }, ...stages.filter((s) => s.kind === "OPEN").map((s) => ({ value: s.id, label: s.name }))]}
          />
        )}
      </div>
      <OtherErrors errors={form.errors} shown={["text", "kind", "choices", "compulsory", "requiredAtStageId"]} />
      <Submit busy={form.busy}>Add question</Submit>
    </form>
  );
}

const METHODS: AssignmentMethod[] = ["SINGLE", "ROUND_ROBIN", "LEAST_BUSY", "MANUAL"];

function RuleForm({ users, onSaved }: { users: { id: string; name: string; barred: boolean }[]; onSaved: () => Promise<void> }) {
  const form = useForm();
  const [name, setName] = useState("");
  const [method, setMethod] = useState<AssignmentMethod>("ROUND_ROBIN");
  const [picked, setPicked] = useState<string[]>([]);
  const [states, setStates] = useState("");
  const [zips, setZips] = useState("");
  const [noPhone, setNoPhone] = useState(false);
  const [done, setDone] = useState(false);
  const errors = renameErrors(form.errors, { name: "ruleName" });
  return (
    <form
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        setDone(false);
        const ok = await form.submit(
          async () =>
            (
              await request(CreateRuleDoc, {
                input: {
                  name,
                  method,
                  userIds: picked,
                  conditions: { states: list(states.toUpperCase()), postalCodes: list(zips), productIds: [], industryIds: [], origins: [], missingPhone: noPhone || null },
                },
              })
            ).createAssignmentRule,
        );
        if (ok) {
          setName("");
          setPicked([]);
          setDone(true);
          await onSaved();
        }
      }}
    >
      <h3>Add a rule</h3>
      <div class="row">
        <TextField name="ruleName" label="Rule name" value={name} onValue={setName} errors={errors} />
        <SelectField
          name="method"
          label="How"
          value={method}
          onValue={(v) => setMethod(v as AssignmentMethod)}
          errors={errors}
          options={METHODS.map((m) => ({ value: m, label: humanize(m) }))}
        />
      </div>
      <fieldset class={`field ${errors.some((x) => x.field === "userIds") ? "has-error" : ""}`}>
        <legend>To</legend>
        {errors
          .filter((x) => x.field === "userIds")
          .map((x, i) => (
            <p class="field-error" id="f-userIds-error" key={i}>
              {x.message}
            </p>
          ))}
        <div class="check-grid" id="f-userIds" tabIndex={-1}>
          {users.map((u) => (
            <CheckField
              key={u.id}
              name={`rule-user-${u.id}`}
              label={`${u.name}${u.barred ? " (barred)" : ""}`}
              checked={picked.includes(u.id)}
              onChecked={(c) => setPicked(c ? [...picked, u.id] : picked.filter((p) => p !== u.id))}
            />
          ))}
        </div>
      </fieldset>
      <div class="row">
        <TextField name="conditions.states" label="When the state is (e.g. MI, OH)" value={states} onValue={setStates} errors={errors} />
        <TextField name="conditions.postalCodes" label="When the ZIP starts with (e.g. 481, 48201)" value={zips} onValue={setZips} errors={errors} />
        <CheckField name="conditions.missingPhone" label="Only leads without a phone" checked={noPhone} onChecked={setNoPhone} errors={errors} />
      </div>
      <OtherErrors errors={errors} shown={["ruleName", "method", "userIds", "conditions.states", "conditions.postalCodes", "conditions.missingPhone"]} />
      <Submit busy={form.busy}>Add rule</Submit>
      {done && <Notice kind="success">Rule added.</Notice>}
    </form>
  );
}
