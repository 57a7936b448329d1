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

  /** Mixes in a number below 2^52 (such as another hash's `top52`), without making a string. */
  num(n: number): this {
    const lo = n >>> 0;
    const hi = Math.floor(n / 0x1_0000_0000) >>> 0;
    // Four 16-bit units, as `str` mixes four characters.
    return this.unit(lo & 0xffff)
      .unit(lo >>> 16)
      .unit(hi & 0xffff)
      .unit(hi >>> 16);
  }

  private unit(c: number): this {
    this.h1 = Math.imul(this.h1 ^ c, 0x01000193);
    this.h2 = Math.imul(this.h2 ^ c, 0x0100019d) ^ (this.h1 >>> 15);
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
          const a = v as ArrayLike<unknown>;
          for (let i = 0; i < a.length; i++) this.value(a[i]).str(',');
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

  /** The top 52 bits of the state as a number (exact in a double, cheap in a Set). */
  get top52(): number {
    return (this.h2 >>> 0) * 0x10_0000 + (this.h1 >>> 12);
  }

  digest(): string {
    return (this.h2 >>> 0).toString(16).padStart(8, '0') + (this.h1 >>> 0).toString(16).padStart(8, '0');
  }
}
