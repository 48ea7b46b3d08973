/**
 * Given/when/then for the decider, after the EventSourcing.NodeJS decider sample's `specification.ts`:
 * `given(workflow).when(event, now).then((decision) => expect(...))`. No Store, no Bus.
 *
 * Every `when` deep-freezes its input, so a decider that mutates the caller's workflow throws, and
 * checks the invariants every decision must keep (see `checkInvariants`). Edges taken in `when`
 * steps are recorded so a test can prove that every row of TRANSITIONS is exercised.
 */
import { expect } from 'vitest';
import { decide } from '../decider.js';
import {
  DEFAULT_WORKFLOW_CONFIG,
  TRANSITIONS,
  type Decision,
  type Workflow,
  type WorkflowConfig,
  type WorkflowEvent,
} from '../workflow.js';

export interface Given {
  readonly workflow: Workflow;
  when(event: WorkflowEvent, now: number): When;
}

export interface When {
  readonly decision: Decision;
  /** Runs the assertions on the decision and continues from the workflow it produced. */
  then(check: (decision: Decision) => void): Given;
  /** Asserts the event was ignored (nothing changes), with a reason matching `why` when given. */
  thenIgnored(why?: RegExp): Given;
  /** Asserts the event was refused as contradicting the case (nothing changes), with a reason matching `why`. */
  thenRefused(why: RegExp): Given;
}

/** `from>to>on` of every edge taken in a `when` step of this test file. */
export const takenEdges = new Set<string>();

export function edgeKey(from: string, to: string, on: string): string {
  return `${from}>${to}>${on}`;
}

const declared = new Set(TRANSITIONS.map((t) => edgeKey(t.from, t.to, t.on)));

function record(decision: Decision, event: WorkflowEvent): void {
  for (const t of decision.transitions) {
    const exact = edgeKey(t.fromState, t.toState, event.type);
    takenEdges.add(declared.has(exact) ? exact : edgeKey(t.fromState, t.toState, '*'));
  }
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Invariants of every decision, whatever the event. */
export function checkInvariants(before: Workflow, d: Decision): void {
  if (d.ignored !== undefined) {
    expect(d.transitions).toEqual([]);
    expect(d.effects).toEqual([]);
    expect(d.workflow).toEqual(before);
    return;
  }
  expect(d.workflow.version).toBe(before.version + 1);
  const last = d.transitions.at(-1);
  expect(d.workflow.state).toBe(last ? last.toState : before.state);
  // Every transition is a state entry, a self-transition (reminder, escalation) included.
  expect(d.workflow.stateSeq).toBe(before.stateSeq + d.transitions.length);
  expect(d.effects.filter((e) => e.kind === 'clear_timers')).toHaveLength(d.transitions.length);
  for (const e of d.effects) {
    // A timer is only ever set by a decision that entered a state, so no two timers of one case share
    // a (name, seq): a firing can never be mistaken for an earlier one.
    if (e.kind === 'set_timer') {
      expect(e.seq).toBe(d.workflow.stateSeq);
      expect(e.seq).toBeGreaterThan(before.stateSeq);
    }
    if (e.kind === 'publish' || e.kind === 'fetch_telemetry') {
      expect(e.key.startsWith(`${before.correlationId}:`)).toBe(true);
    }
  }
  const keys = d.effects.flatMap((e) => (e.kind === 'publish' || e.kind === 'fetch_telemetry' ? [e.key] : []));
  expect(new Set(keys).size).toBe(keys.length);
}

export function given(workflow: Workflow, cfg: WorkflowConfig = DEFAULT_WORKFLOW_CONFIG): Given {
  const input = deepFreeze(structuredClone(workflow));
  return {
    workflow: input,
    when(event, now) {
      const decision = decide(input, deepFreeze(structuredClone(event)), now, cfg);
      checkInvariants(input, decision);
      record(decision, event);
      return {
        decision,
        then(check) {
          check(decision);
          return given(decision.workflow, cfg);
        },
        thenIgnored(why) {
          expect(decision.ignored).toBeDefined();
          expect(decision.refused).toBeUndefined();
          if (why) expect(decision.ignored).toMatch(why);
          return given(decision.workflow, cfg);
        },
        thenRefused(why) {
          expect(decision.refused).toMatch(why);
          return given(decision.workflow, cfg);
        },
      };
    },
  };
}
