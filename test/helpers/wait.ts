/** Polling for conditions in tests that talk to real brokers. */

/**
 * Polls `fn` until it returns something other than undefined (errors count as
 * "not yet"), and fails with `what` and the last error after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = `: last error ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
