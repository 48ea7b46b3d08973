/**
 * What the distributed benchmark's parent and its orchestrator processes say to each other over the
 * fork IPC channel. Each measured round is two steps, so that every process's untimed set-up (building
 * commits, opening cases) is over before any of them starts the timed part: `prepare` → `prepared`,
 * then `go` → `done`.
 */

/**
 * - `pg_floor`: bare `pg` inserts of the transition rows the commits carry, one transaction per batch.
 * - `transitions`: the same decisions committed through the store port (`commitDecisions`).
 * - `bus_floor`: bare JetStream publishes of analysis-request envelopes like those the decisions publish.
 * - `ingest`: raw sample → parse → ingest → persisted decision → its analysis request stored on NATS.
 */
export const MEASURES = ['pg_floor', 'transitions', 'bus_floor', 'ingest'] as const;
export type MeasureKind = (typeof MEASURES)[number];

export interface WorkerInit {
  type: 'init';
  /** Distinct for every process of a run: it picks the process's vehicles. */
  worker: number;
  pgUrl: string;
  schema: string;
  natsUrl: string;
  namespace: string;
  /** The floor's table (schema-qualified) and the subject prefix of the floor's stream. */
  floorTable: string;
  floorSubject: string;
  sizes: WorkSizes;
}

export interface WorkSizes {
  /** Vehicles taken through a whole case per round by `transitions` and `pg_floor`. */
  caseVehicles: number;
  /** Samples per round for `ingest`, envelopes per round for `bus_floor`. */
  samples: number;
  /** Decisions per store transaction. */
  batch: number;
  /** Samples (or publishes) outstanding at once. */
  inFlight: number;
}

export type ToWorker =
  | WorkerInit
  /** A warm-up round does a quarter of the work: enough for the JIT, the connections and the plans. */
  | { type: 'prepare'; measure: MeasureKind; round: number; warmUp: boolean }
  | { type: 'go' }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'prepared' }
  /** `ops` done in `seconds` (the worker's own stopwatch, from `go`). */
  | { type: 'done'; ops: number; seconds: number }
  | { type: 'error'; message: string };
