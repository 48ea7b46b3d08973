/**
 * The service centres a customer may name in an answer. They are the scheduler's (GET /api/centers), so
 * the API asks it, but not on every answer: the list changes rarely and the scheduler may be slow or down.
 */

/** The ids of the known service centres; rejects when they cannot be had. */
export type KnownCenters = () => Promise<readonly string[]>;

/**
 * `list` behind a cache of `ttlMs` real milliseconds (how long a slow call is worth saving, not clock
 * time). Concurrent callers share one call; when a call fails the last list that was had is kept for
 * another ttl, so a scheduler outage neither stops the API from checking nor makes every answer wait for
 * a timeout; with no list yet, the failure is the caller's.
 */
export function cachedCenters(
  list: () => Promise<readonly { center_id: string }[]>,
  ttlMs = 60_000,
  now: () => number = Date.now,
): KnownCenters {
  let known: { ids: readonly string[]; at: number } | null = null;
  let inFlight: Promise<readonly string[]> | null = null;
  return async () => {
    if (known && now() - known.at < ttlMs) return known.ids;
    inFlight ??= list()
      .then((centers) => {
        known = { ids: centers.map((c) => c.center_id), at: now() };
        return known.ids;
      })
      .catch((err: unknown) => {
        if (!known) throw err;
        known = { ids: known.ids, at: now() };
        return known.ids;
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
}
