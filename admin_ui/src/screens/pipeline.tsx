// The workspace of seed 003 (docs/workspace.md): the pipeline board (drag a
// lead to another stage, or use its "Move to" select), won / lost with a
// reason, and on a lead's page its stage, value and feedback answers.
import { useState } from "preact/hooks";
import { request, type UserError } from "../api";
import { humanize, parseMoney } from "../format";
import { graphql } from "../gql";
import type { FeedbackAnswerInput, LeadOutcome } from "../gql/graphql";
import { useForm, usePaged, useQuery } from "../hooks";
import { idPath, Link } from "../router";
import { useSession } from "../session";
import { Badge, ErrorBox, Loading, LoadMore, Money, Notice, PageTitle, Section } from "../ui/common";
import { ErrorSummary, OtherErrors, renameErrors, SelectField, Submit, TextField } from "../ui/forms";

export const PipelineDoc = graphql(`
  query Pipeline {
    pipeline {
      maxStages
      currency
      stages {
        id
        name
        position
        probability
        kind
        leadCount
        wonCount
        lostCount
        value {
          amountMinor
          currency
        }
        weightedValue {
          amountMinor
          currency
        }
      }
    }
    lostReasons {
      id
      name
    }
  }
`);

const StageLeadsDoc = graphql(`
  query StageLeads($stageId: ID!, $first: Int, $after: String) {
    leads(stageId: $stageId, first: $first, after: $after) {
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
          outcome
          awaitingAssignment
          value {
            amountMinor
            currency
          }
          lostReason {
            name
          }
          assignee {
            id
            name
          }
        }
      }
    }
  }
`);

const MoveDoc = graphql(`
  mutation MoveLead($input: MoveLeadToStageInput!) {
    moveLeadToStage(input: $input) {
      lead {
        id
        outcome
        stage {
          id
          name
        }
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

type Stage = { id: string; name: string; kind: string };
type Reason = { id: string; name: string };

/** "Move to" targets: every open stage, and the closing stage as won or as lost. */
function targets(stages: Stage[]): { value: string; label: string }[] {
  return stages.flatMap((s) =>
    s.kind === "CLOSING"
      ? [
          { value: `${s.id}|WON`, label: `${s.name}: won` },
          { value: `${s.id}|LOST`, label: `${s.name}: lost…` },
        ]
      : [{ value: s.id, label: s.name }],
  );
}

function currentTarget(stageId: string | undefined, outcome: string | null | undefined, stages: Stage[]): string {
  const stage = stages.find((s) => s.id === stageId);
  if (!stage) return "";
  return stage.kind === "CLOSING" ? `${stage.id}|${outcome ?? "WON"}` : stage.id;
}

/** Move one lead: a select of stages (the keyboard way to do what dragging does) and, for "lost", the reason. */
export function MoveControl({
  leadId,
  label,
  stages,
  reasons,
  current,
  onMoved,
}: {
  leadId: string;
  label: string;
  stages: Stage[];
  reasons: Reason[];
  current: string;
  onMoved: () => void;
}) {
  const form = useForm();
  const [target, setTarget] = useState(current);
  const [reason, setReason] = useState("");
  const lost = target.endsWith("|LOST");
  const names = { stageId: `move-${leadId}`, lostReasonId: `reason-${leadId}`, outcome: `move-${leadId}` };
  const move = async (value: string, reasonId: string | null) => {
    const [stageId, outcome] = value.split("|");
    const ok = await form.submit(
      async () =>
        (await request(MoveDoc, { input: { leadId, stageId, outcome: (outcome as LeadOutcome) ?? null, lostReasonId: reasonId } }))
          .moveLeadToStage,
    );
    if (ok) onMoved();
  };
  const errors = renameErrors(form.errors, names);
  return (
    <div class="move-control">
      <SelectField
        name={`move-${leadId}`}
        label={
          <span>
            Move<span class="visually-hidden"> {label}</span> to
          </span>
        }
        class="compact"
        value={target}
        disabled={form.busy}
        errors={errors}
        onValue={(v) => {
          setTarget(v);
          if (v && v !== current && !v.endsWith("|LOST")) void move(v, null);
        }}
        options={[...(current ? [] : [{ value: "", label: "Choose a stage" }]), ...targets(stages)]}
      />
      {lost && target !== current && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void move(target, reason || null);
          }}
        >
          <SelectField
            name={`reason-${leadId}`}
            label="Why was it lost?"
            class="compact"
            value={reason}
            onValue={setReason}
            errors={errors}
            options={[{ value: "", label: "Choose a reason" }, ...reasons.map((r) => ({ value: r.id, label: r.name }))]}
          />
          <Submit busy={form.busy} busyLabel="Saving…">
            Mark lost
          </Submit>
        </form>
      )}
      <OtherErrors errors={errors} shown={Object.values(names)} />
      {form.busy && <span class="muted small" role="status">Moving…</span>}
    </div>
  );
}

export function Pipeline() {
  const { isOwner } = useSession();
  const q = useQuery(PipelineDoc, {});
  const [rev, setRev] = useState(0);
  const [dragError, setDragError] = useState<UserError[]>([]);
  const [dropped, setDropped] = useState<{ leadId: string; name: string; stageId: string } | null>(null);
  if (q.error) return <ErrorBox message={q.error} retry={q.reload} />;
  if (!q.data) return <Loading />;
  const { stages, currency } = q.data.pipeline;
  const reasons = q.data.lostReasons;
  const refresh = () => {
    setRev((r) => r + 1);
    void q.reload();
  };
  const onDrop = async (leadId: string, name: string, stage: Stage) => {
    setDragError([]);
    if (stage.kind === "CLOSING") {
      setDropped({ leadId, name, stageId: stage.id });
      return;
    }
    const r = (await request(MoveDoc, { input: { leadId, stageId: stage.id } })).moveLeadToStage;
    if (r.userErrors.length) setDragError(r.userErrors.map((e) => ({ ...e, message: `${name}: ${e.message}`, field: null })));
    refresh();
  };
  return (
    <>
      <PageTitle actions={isOwner && <Link to="/workspace">Set up the pipeline</Link>}>Pipeline</PageTitle>
      <p class="muted">
        Drag a lead to another stage, or use its “Move to” list. Values are in {currency}.
      </p>
      <ErrorSummary errors={dragError} title="Not moved" />
      {dropped && (
        <CloseDialog
          {...dropped}
          stages={stages}
          reasons={reasons}
          onDone={() => {
            setDropped(null);
            refresh();
          }}
        />
      )}
      <div class="board" role="list" aria-label="Pipeline stages">
        {stages.map((s) => (
          <StageColumn key={`${s.id}-${rev}`} stage={s} stages={stages} reasons={reasons} onMoved={refresh} onDrop={onDrop} />
        ))}
      </div>
    </>
  );
}

function CloseDialog({
  leadId,
  name,
  stageId,
  stages,
  reasons,
  onDone,
}: {
  leadId: string;
  name: string;
  stageId: string;
  stages: Stage[];
  reasons: Reason[];
  onDone: () => void;
}) {
  return (
    <div class="card close-dialog" role="group" aria-label={`Close ${name}`}>
      <h2>Close {name}: won or lost?</h2>
      <div class="button-row">
        <MoveControl leadId={leadId} label={name} stages={stages.filter((s) => s.id === stageId)} reasons={reasons} current="" onMoved={onDone} />
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </div>
  );
}

function StageColumn({
  stage,
  stages,
  reasons,
  onMoved,
  onDrop,
}: {
  stage: Stage & { leadCount: number; probability: number; wonCount: number; lostCount: number; value: { amountMinor: number; currency: string } };
  stages: Stage[];
  reasons: Reason[];
  onMoved: () => void;
  onDrop: (leadId: string, name: string, stage: Stage) => void;
}) {
  const page = usePaged(StageLeadsDoc, { stageId: stage.id }, (d) => d.leads, 20);
  const [over, setOver] = useState(false);
  return (
    <section
      class={`column card ${over ? "drop-target" : ""}`}
      role="listitem"
      aria-labelledby={`stage-${stage.id}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const raw = e.dataTransfer?.getData("application/x-leadwire-lead");
        if (raw) {
          const { id, name } = JSON.parse(raw) as { id: string; name: string };
          onDrop(id, name, stage);
        }
      }}
    >
      <h2 id={`stage-${stage.id}`}>
        {stage.name} <span class="muted small">({stage.leadCount})</span>
      </h2>
      <p class="muted small">
        {stage.kind === "CLOSING" ? `${stage.wonCount} won · ${stage.lostCount} lost` : `${stage.probability} %`} · <Money value={stage.value} />
      </p>
      <ul class="plain lead-cards">
        {page.items.map((l) => {
          const name = `${l.firstName} ${l.lastName}`;
          return (
            <li
              key={l.id}
              class="lead-card"
              draggable
              onDragStart={(e) => {
                e.dataTransfer?.setData("application/x-leadwire-lead", JSON.stringify({ id: l.id, name }));
                if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
              }}
            >
              <Link to={idPath("leads", l.id)}>{name}</Link>
              <span class="muted small">
                {" "}
                {l.city} {l.state}
              </span>
              <div class="small">
                {l.outcome && <Badge kind={l.outcome === "WON" ? "good" : "bad"}>{humanize(l.outcome)}</Badge>} {l.lostReason && <span class="muted">{l.lostReason.name}</span>}{" "}
                {l.value.amountMinor > 0 && <Money value={l.value} />} {l.assignee && <span class="muted">· {l.assignee.name}</span>}
              </div>
              <MoveControl
                leadId={l.id}
                label={name}
                stages={stages}
                reasons={reasons}
                current={currentTarget(stage.id, l.outcome, stages)}
                onMoved={onMoved}
              />
            </li>
          );
        })}
      </ul>
      <LoadMore page={page} noun="leads" />
    </section>
  );
}

// -- on a lead's page ------------------------------------------------------------------------

const LeadWorkDoc = graphql(`
  query LeadWork($id: ID!) {
    pipeline {
      currency
      stages {
        id
        name
        kind
        position
      }
    }
    lostReasons {
      id
      name
    }
    feedbackQuestions {
      id
      text
      kind
      compulsory
      requiredAtStage {
        name
      }
      choices {
        id
        label
        archived
      }
    }
    node(id: $id) {
      ... on Lead {
        id
        firstName
        lastName
        outcome
        closedAt
        stage {
          id
        }
        lostReason {
          name
        }
        value {
          amountMinor
          currency
        }
        assignment {
          method
          ruleName
          atLocal
        }
        feedback {
          value
          answeredAtLocal
          question {
            id
          }
          choice {
            id
          }
          answeredBy {
            name
          }
        }
      }
    }
  }
`);

const AnswerDoc = graphql(`
  mutation AnswerFeedback($input: AnswerFeedbackInput!) {
    answerFeedback(input: $input) {
      lead {
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

const SetValueDoc = graphql(`
  mutation SetLeadValue($input: SetLeadValueInput!) {
    setLeadValue(input: $input) {
      lead {
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

/** The lead page's workspace section: stage, won/lost, value, feedback questions. */
export function LeadWork({ leadId }: { leadId: string }) {
  const q = useQuery(LeadWorkDoc, { id: leadId });
  const [rev, setRev] = useState(0);
  if (q.error) return <ErrorBox message={q.error} retry={q.reload} />;
  const lead = q.data?.node && "stage" in q.data.node ? q.data.node : null;
  if (!q.data || !lead) return null;
  const { stages, currency } = q.data.pipeline;
  const name = `${lead.firstName} ${lead.lastName}`;
  const reload = () => {
    setRev((r) => r + 1);
    void q.reload();
  };
  return (
    <Section title="Pipeline" id="work-h">
      <div class="two-col">
        <div>
          <p>
            {lead.outcome ? (
              <>
                <Badge kind={lead.outcome === "WON" ? "good" : "bad"}>{humanize(lead.outcome)}</Badge>
                {lead.lostReason && <> — {lead.lostReason.name}</>}
              </>
            ) : (
              <Badge>Open</Badge>
            )}
            {lead.assignment && (
              <span class="muted small">
                {" "}
                · assigned {lead.assignment.ruleName ? `by the rule “${lead.assignment.ruleName}”` : humanize(lead.assignment.method).toLowerCase()}{" "}
                {lead.assignment.atLocal}
              </span>
            )}
          </p>
          <MoveControl
            key={`m${rev}`}
            leadId={lead.id}
            label={name}
            stages={stages}
            reasons={q.data.lostReasons}
            current={currentTarget(lead.stage?.id, lead.outcome, stages)}
            onMoved={reload}
          />
          <ValueForm key={`v${rev}`} leadId={lead.id} currency={currency} minor={lead.value.amountMinor} onSaved={reload} />
        </div>
        <FeedbackForm leadId={lead.id} questions={q.data.feedbackQuestions} answers={lead.feedback} onSaved={() => void q.reload()} />
      </div>
    </Section>
  );
}

function ValueForm({ leadId, currency, minor, onSaved }: { leadId: string; currency: string; minor: number; onSaved: () => void }) {
  const form = useForm();
  const [value, setValue] = useState((minor / 100).toFixed(2));
  return (
    <form
      class="inline-form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const m = parseMoney(value, currency);
        const ok = await form.submit(async () =>
          m === null
            ? { userErrors: [{ field: "valueMinor", code: "INVALID", message: "Enter an amount, e.g. 1500.00." }] }
            : (await request(SetValueDoc, { input: { leadId, valueMinor: m } })).setLeadValue,
        );
        if (ok) onSaved();
      }}
    >
      <TextField name="valueMinor" label={`Deal value (${currency})`} inputMode="decimal" value={value} onValue={setValue} errors={form.errors} />
      <Submit busy={form.busy}>Save value</Submit>
      <OtherErrors errors={form.errors} shown={["valueMinor"]} />
    </form>
  );
}

type Question = {
  id: string;
  text: string;
  kind: string;
  compulsory: boolean;
  requiredAtStage?: { name: string } | null;
  choices: { id: string; label: string; archived: boolean }[];
};
type Answer = { value: unknown; answeredAtLocal: string; question: { id: string }; choice?: { id: string } | null; answeredBy?: { name: string } | null };

function FeedbackForm({ leadId, questions, answers, onSaved }: { leadId: string; questions: Question[]; answers: Answer[]; onSaved: () => void }) {
  const form = useForm();
  const initial: Record<string, string> = {};
  for (const a of answers) initial[a.question.id] = a.choice ? a.choice.id : a.value === null || a.value === undefined ? "" : String(a.value);
  const [values, setValues] = useState(initial);
  const [saved, setSaved] = useState(false);
  if (!questions.length) return <p class="muted">No feedback questions are set up.</p>;
  // Errors name answers.<n>.value: show them at that question's field.
  const names: Record<string, string> = {};
  questions.forEach((q, i) => {
    names[`answers.${i}.value`] = `fb-${q.id}`;
    names[`answers.${i}.choiceId`] = `fb-${q.id}`;
    names[`answers.${i}`] = `fb-${q.id}`;
  });
  const errors = renameErrors(form.errors, names);
  return (
    <form
      noValidate
      aria-labelledby={`fb-h-${leadId}`}
      onSubmit={async (e) => {
        e.preventDefault();
        setSaved(false);
        const list: FeedbackAnswerInput[] = [];
        for (const q of questions) {
          const v = values[q.id] ?? "";
          if (v === "") continue;
          if (q.kind === "CHOICE") list.push({ questionId: q.id, choiceId: v });
          else if (q.kind === "YES_NO") list.push({ questionId: q.id, value: v === "true" });
          else if (q.kind === "NUMBER") list.push({ questionId: q.id, value: Number.isFinite(Number(v)) ? Number(v) : v });
          else list.push({ questionId: q.id, value: v });
        }
        // Errors come back by position in the list sent: map them to the questions answered.
        const sent: Record<string, string> = {};
        list.forEach((a, i) => {
          sent[`answers.${i}.value`] = `fb-${a.questionId}`;
          sent[`answers.${i}.choiceId`] = `fb-${a.questionId}`;
          sent[`answers.${i}`] = `fb-${a.questionId}`;
        });
        Object.assign(names, sent);
        const ok = await form.submit(async () => (await request(AnswerDoc, { input: { leadId, answers: list } })).answerFeedback);
        if (ok) {
          setSaved(true);
          onSaved();
        }
      }}
    >
      <h3 id={`fb-h-${leadId}`}>Feedback</h3>
      <ErrorSummary errors={errors} />
      {questions.map((q) => {
        const label = (
          <>
            {q.text}
            {q.compulsory && <span class="muted small"> (required {q.requiredAtStage ? `from ${q.requiredAtStage.name}` : "to close"})</span>}
          </>
        );
        const set = (v: string) => setValues({ ...values, [q.id]: v });
        const name = `fb-${q.id}`;
        if (q.kind === "YES_NO" || q.kind === "CHOICE")
          return (
            <SelectField
              key={q.id}
              name={name}
              label={label}
              value={values[q.id] ?? ""}
              onValue={set}
              errors={errors}
              options={[
                { value: "", label: "Not answered" },
                ...(q.kind === "YES_NO"
                  ? [
                      { value: "true", label: "Yes" },
                      { value: "false", label: "No" },
                    ]
                  : q.choices.filter((c) => !c.archived || c.id === values[q.id]).map((c) => ({ value: c.id, label: c.label }))),
              ]}
            />
          );
        return (
          <TextField
            key={q.id}
            name={name}
            label={label}
            inputMode={q.kind === "NUMBER" ? "decimal" : undefined}
            value={values[q.id] ?? ""}
            onValue={set}
            errors={errors}
          />
        );
      })}
      <OtherErrors errors={errors} shown={questions.map((q) => `fb-${q.id}`)} />
      <Submit busy={form.busy}>Save answers</Submit>
      {saved && <Notice kind="success">Answers saved.</Notice>}
    </form>
  );
}
