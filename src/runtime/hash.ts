/**
 * A 64-bit FNV-1a style hash kept as two 32-bit halves, fed incrementally. It hashes the
 * trace (steps, states, bytes, contexts), so two executions with the same decisions must
 * give the same value on any machine.
 */
export class TraceHasher {
  private h1 = 0x811c9dc5;
  private h2 = 0xcbf29ce4;

  str(s: string): this {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x0100019d) ^ (h1 >>> 15);
    }
    this.h1 = h1;
    this.h2 = h2;
    return this;
  }

  /** Hashes any JSON-like value (bigint, arrays, plain objects, Map, Set) in a stable order. */
  value(v: unknown): this {
    if (v === null || v === undefined) return this.str(v === null ? '~n' : '~u');
    switch (typeof v) {
      case 'string':
        return this.str('"').str(v);
      case 'number':
      case 'boolean':
        return this.str(String(v));
      case 'bigint':
        return this.str(v.toString()).str('n');
      case 'object': {
        if (Array.isArray(v) || ArrayBuffer.isView(v)) {
          this.str('[');
          for (const x of Array.from(v as ArrayLike<unknown>)) this.value(x).str(',');
          return this.str(']');
        }
        if (v instanceof Map) return this.str('M').value([...v.entries()]);
        if (v instanceof Set) return this.str('S').value([...v.values()]);
        this.str('{');
        for (const k of Object.keys(v).sort())
          this.str(k)
            .str(':')
            .value((v as Record<string, unknown>)[k])
            .str(',');
        return this.str('}');
      }
      default:
        return this.str(typeof v);
    }
  }

  /** The hasher's state, to resume from a checkpoint. */
  save(): readonly [number, number] {
    return [this.h1, this.h2];
  }

  restore([h1, h2]: readonly [number, number]): this {
    this.h1 = h1;
    this.h2 = h2;
    return this;
  }

  /** 32 bits of the state, cheap to keep per step to find where two traces part. */
  get low(): number {
    return this.h1;
  }

  digest(): string {
    return (this.h2 >>> 0).toString(16).padStart(8, '0') + (this.h1 >>> 0).toString(16).padStart(8, '0');
  }
}
