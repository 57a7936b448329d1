import { UsageError } from '../model/errors.ts';

/**
 * Which checkers run (DESIGN §2, "Checkers"). Invariants and actor assertions always run;
 * the four below can be turned off one by one (`vcpusim check --no-check race,lock-order`).
 * A trace file records the setting, so a replay reaches the same verdict.
 */
export const CHECKER_NAMES = ['race', 'lock-order', 'deadlock', 'liveness'] as const;
export type CheckerName = (typeof CHECKER_NAMES)[number];

/** Every checker, on or off. */
export type CheckerSettings = Readonly<Record<CheckerName, boolean>>;

/** What a caller may pass: any checker left out is on. */
export type CheckerOptions = Readonly<Partial<Record<CheckerName, boolean>>>;

export const ALL_CHECKERS: CheckerSettings = {
  race: true,
  'lock-order': true,
  deadlock: true,
  liveness: true,
};

export function isCheckerName(s: string): s is CheckerName {
  return (CHECKER_NAMES as readonly string[]).includes(s);
}

/** Fills in the checkers left out (on), rejecting unknown names. */
export function checkerSettings(o: CheckerOptions | undefined): CheckerSettings {
  if (o === undefined) return ALL_CHECKERS;
  for (const k of Object.keys(o)) {
    if (!isCheckerName(k))
      throw new UsageError(`unknown checker '${k}' (checkers: ${CHECKER_NAMES.join(', ')})`);
  }
  return {
    race: o.race ?? true,
    'lock-order': o['lock-order'] ?? true,
    deadlock: o.deadlock ?? true,
    liveness: o.liveness ?? true,
  };
}

/** `--no-check race,lock-order` (repeatable): the checkers it names, turned off. */
export function parseNoCheck(values: readonly string[] | undefined): CheckerOptions | undefined {
  if (!values || values.length === 0) return undefined;
  const off: Partial<Record<CheckerName, boolean>> = {};
  for (const v of values) {
    for (const raw of v.split(',')) {
      const name = raw.trim();
      if (!isCheckerName(name)) {
        throw new UsageError(`--no-check: unknown checker '${name}' (checkers: ${CHECKER_NAMES.join(', ')})`);
      }
      off[name] = false;
    }
  }
  return off;
}

/** The checkers turned off, for messages and reports. */
export function disabledCheckers(s: CheckerSettings): CheckerName[] {
  return CHECKER_NAMES.filter((n) => !s[n]);
}
