/** Running summary of customer ratings, fed by `record`. In memory: a later issue persists it. */
import type { Feedback } from '../core/payloads.js';

export const MIN_RATING = 1;
export const MAX_RATING = 5;

export interface FeedbackSummary {
  count: number;
  /** null before the first rating */
  mean_rating: number | null;
  /** how many ratings of each value 1…5 */
  by_rating: Record<string, number>;
}

export class FeedbackStats {
  private count = 0;
  private sum = 0;
  private readonly byRating = new Map<number, number>();
  private readonly seen = new Set<string>();

  /** Counts one answer per workflow; returns false for a repeat or a rating outside 1…5. */
  record(feedback: Pick<Feedback, 'correlation_id' | 'rating'>): boolean {
    const r = feedback.rating;
    if (!Number.isInteger(r) || r < MIN_RATING || r > MAX_RATING) return false;
    if (this.seen.has(feedback.correlation_id)) return false;
    this.seen.add(feedback.correlation_id);
    this.count += 1;
    this.sum += r;
    this.byRating.set(r, (this.byRating.get(r) ?? 0) + 1);
    return true;
  }

  summary(): FeedbackSummary {
    const byRating: Record<string, number> = {};
    for (let r = MIN_RATING; r <= MAX_RATING; r++) byRating[String(r)] = this.byRating.get(r) ?? 0;
    return {
      count: this.count,
      mean_rating: this.count === 0 ? null : Math.round((this.sum / this.count) * 100) / 100,
      by_rating: byRating,
    };
  }
}
