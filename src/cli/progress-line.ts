import type { Progress } from '../explore/check.ts';
import type { Io } from './io.ts';

/** Progress of a long run: one line redrawn in place on a TTY, plain lines otherwise. */
export class ProgressLine {
  private drawn = false;

  constructor(private readonly io: Io) {}

  update(p: Progress): void {
    const rate = p.elapsedMs > 0 ? Math.round((p.schedules * 1000) / p.elapsedMs) : 0;
    const frac = p.schedules / p.maxSchedules;
    // Whichever ends the run first: the schedule limit or the time budget.
    const eta =
      rate > 0
        ? Math.round(Math.min((p.maxSchedules - p.schedules) / rate, (p.budgetMs - p.elapsedMs) / 1000))
        : undefined;
    const text = `${p.scenario}:${p.variant}  ${p.schedules}/${p.maxSchedules} schedules (${Math.round(frac * 100)}%)  ${rate}/s  ${(p.elapsedMs / 1000).toFixed(1)} s${eta !== undefined ? `  ETA ${eta} s` : ''}`;
    if (this.io.isTTY) {
      const width = 24;
      const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
      this.io.errRaw(`\r\x1b[2K${bar} ${text}`);
      this.drawn = true;
    } else this.io.err(`progress: ${text}`);
  }

  clear(): void {
    if (this.drawn) this.io.errRaw('\r\x1b[2K');
    this.drawn = false;
  }
}
