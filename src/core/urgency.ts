/** Urgency levels, ordered from least to most urgent. Wire value is the lower-case name. */
export const URGENCY_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type Urgency = (typeof URGENCY_LEVELS)[number];

/** Upper bounds (exclusive) of predicted days to failure for each level (DESIGN §4). */
export const URGENCY_THRESHOLDS_DAYS = { critical: 1, high: 7, medium: 30 } as const;

/** `< 1 → critical`, `< 7 → high`, `< 30 → medium`, else `low`. */
export function urgencyFor(predictedDaysToFailure: number): Urgency {
  if (predictedDaysToFailure < URGENCY_THRESHOLDS_DAYS.critical) return 'critical';
  if (predictedDaysToFailure < URGENCY_THRESHOLDS_DAYS.high) return 'high';
  if (predictedDaysToFailure < URGENCY_THRESHOLDS_DAYS.medium) return 'medium';
  return 'low';
}

export function urgencyRank(u: Urgency): number {
  return URGENCY_LEVELS.indexOf(u);
}

export function isWorse(next: Urgency, current: Urgency | null): boolean {
  return current === null || urgencyRank(next) > urgencyRank(current);
}

/** Envelope priority, 1 low … 4 critical (DESIGN §5). */
export function priorityOf(u: Urgency | null): 1 | 2 | 3 | 4 {
  return u === null ? 1 : ((urgencyRank(u) + 1) as 1 | 2 | 3 | 4);
}

export function isUrgency(v: unknown): v is Urgency {
  return typeof v === 'string' && (URGENCY_LEVELS as readonly string[]).includes(v);
}
