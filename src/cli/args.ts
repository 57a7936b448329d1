import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../model/errors.ts';

/** Strict option parsing: an unknown or malformed option is a usage error (exit 2). */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message.split('\n')[0]} (see 'vcpusim help')`);
  }
}

export function intOption(name: string, raw: string | undefined, min = 0): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min)
    throw new UsageError(`--${name}: expected an integer ≥ ${min}, got '${raw}'`);
  return Number(raw);
}

/** `30s`, `2m`, `500ms`, `1h`, or a plain number of seconds. */
export function durationOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`--${name}: expected a duration like 30s, 2m or 500ms, got '${raw}'`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/** `i/n` with 1 ≤ i ≤ n: the i-th of n shards. */
export function shardOption(raw: string | undefined): { index: number; count: number } | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count)
    throw new UsageError(`--shard: expected i/n with 1 ≤ i ≤ n (e.g. 2/4), got '${raw}'`);
  return { index, count };
}
