import type { Progress } from '../explore/check.ts';
import type { Io } from './io.ts';

/** Progress of a long run: one line redrawn in place on a TTY, plain lines otherwise. */
export class ProgressLine {
  private drawn = false;

  constructor(private readonly io: Io) {}

  update(p: Progress): void {
    const rate = p.elapsedMs > 0 ? Math.round((p.schedules * 1000) / p.elapsedMs) : 0;
    // Whichever ends the run first: the schedule limit or the time budget. An exhaustive
    // search may also end sooner, when the space is covered: its ETA is an upper bound.
    const bySchedules = rate > 0 ? (p.maxSchedules - p.schedules) / rate : Number.POSITIVE_INFINITY;
    const byBudget = (p.budgetMs - p.elapsedMs) / 1000;
    const eta = Math.max(0, Math.round(Math.min(bySchedules, byBudget)));
    const frac = Math.min(1, Math.max(p.schedules / p.maxSchedules, p.elapsedMs / p.budgetMs));
    const classes = p.classes !== undefined ? `  ${p.classes} classes` : '';
    const bound = p.classes !== undefined ? '≤ ' : '';
    const text = `${p.scenario}:${p.variant}  ${p.schedules} schedules  ${rate}/s${classes}  ${(p.elapsedMs / 1000).toFixed(1)} s  ETA ${bound}${eta} s`;
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
