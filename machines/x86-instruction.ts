import type { Dir } from './ioreq.ts';

/**
 * The memory operands of one x86 instruction, in the order x86_emulate accesses them. A
 * write takes its bytes from an earlier read operand (`from`), as MOVS does.
 */
export interface OperandAccess {
  readonly operand: string;
  readonly addr: number;
  readonly size: number;
  readonly dir: Dir;
  readonly from?: string;
}

export interface Instruction {
  readonly mnemonic: string;
  readonly accesses: readonly OperandAccess[];
}

/** CMPSQ: compares the quadwords at src and dst; two 8-byte reads (domain-facts §1.6 A). */
export function cmpsq(src: number, dst: number): Instruction {
  return {
    mnemonic: `cmpsq 0x${src.toString(16)}, 0x${dst.toString(16)}`,
    accesses: [
      { operand: 'src', addr: src, size: 8, dir: 'read' },
      { operand: 'dst', addr: dst, size: 8, dir: 'read' },
    ],
  };
}

/** MOVSQ: reads 8 bytes at src and writes them at dst (domain-facts §1.6 B). */
export function movsq(src: number, dst: number): Instruction {
  return {
    mnemonic: `movsq 0x${src.toString(16)} → 0x${dst.toString(16)}`,
    accesses: [
      { operand: 'src', addr: src, size: 8, dir: 'read' },
      { operand: 'dst', addr: dst, size: 8, dir: 'write', from: 'src' },
    ],
  };
}

/** MOV r64, m64: one 8-byte read (domain-facts §1.6 C). */
export function movLoad(addr: number): Instruction {
  return {
    mnemonic: `mov rax, [0x${addr.toString(16)}]`,
    accesses: [{ operand: 'src', addr, size: 8, dir: 'read' }],
  };
}

/**
 * A descriptor-table access (e.g. LLDT/LTR with a memory operand whose table entry is at
 * the same linear address): a 2-byte selector read, then the 8-byte descriptor read, both
 * starting at `addr` (domain-facts §1.6, "Remaining limitation").
 */
export function descriptorLoad(addr: number): Instruction {
  return {
    mnemonic: `lldt [0x${addr.toString(16)}] (selector and descriptor at the same address)`,
    accesses: [
      { operand: 'selector', addr, size: 2, dir: 'read' },
      { operand: 'descriptor', addr, size: 8, dir: 'read' },
    ],
  };
}
