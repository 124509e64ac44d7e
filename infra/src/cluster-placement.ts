/** How long a fresh cluster gets to elect its JetStream meta leader and meet its members. */
export const PLACEMENT_TIMEOUT_MS = 60_000;

/** What a cluster still electing its leaders, or still meeting its members, answers. */
const NOT_YET_PLACED = /no suitable peers|temporarily unavailable|timeout|TIMEOUT|503/;

/**
 * Runs `place` (provisioning, say) until the cluster can place streams on its members: a
 * cluster just started answers "no suitable peers for placement" (or times out) until its
 * members have met and elected a meta leader. Other errors, and the last after
 * PLACEMENT_TIMEOUT_MS, are thrown.
 */
export async function whenPlaced<T>(place: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + PLACEMENT_TIMEOUT_MS;
  for (;;) {
    try {
      return await place();
    } catch (e) {
      if (Date.now() > deadline || !NOT_YET_PLACED.test(String((e as Error).message))) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
