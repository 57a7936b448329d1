import type { StateValue } from 'xstate';

/** `idle`, `emulating.ram`, or `a.b|c.d` for parallel regions. */
export function stateName(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([k, v]) =>
      v === undefined || (typeof v === 'object' && Object.keys(v).length === 0) ? k : `${k}.${stateName(v)}`,
    )
    .join('|');
}
