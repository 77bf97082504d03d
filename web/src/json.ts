// Strict readers for the agents' JSON: each returns the value when it has exactly the expected
// type and throws Malformed (naming where) otherwise, so a reply of the wrong shape is refused
// as a whole instead of being half understood.

export type Json = Record<string, unknown>;

export class Malformed extends Error {
  constructor(readonly at: string) {
    super(`malformed: ${at}`);
  }
}

export function record(v: unknown, at: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Malformed(at);
  return v as Json;
}

export function string(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new Malformed(at);
  return v;
}

export function nonEmpty(v: unknown, at: string): string {
  if (string(v, at) === '') throw new Malformed(at);
  return v as string;
}

export function number(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Malformed(at);
  return v;
}

/** A whole number at least `min`. */
export function int(v: unknown, at: string, min = 0): number {
  if (!Number.isInteger(v) || (v as number) < min) throw new Malformed(at);
  return v as number;
}

export function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') throw new Malformed(at);
  return v;
}

export function oneOf<T extends string>(v: unknown, values: readonly T[], at: string): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new Malformed(at);
  return v as T;
}

export function nullable<T>(v: unknown, read: (x: unknown, at: string) => T, at: string): T | null {
  return v === null ? null : read(v, at);
}

export function list<T>(v: unknown, read: (x: unknown, at: string) => T, at: string): T[] {
  if (!Array.isArray(v)) throw new Malformed(at);
  return v.map((x, i) => read(x, `${at}[${i}]`));
}

/** An object used as a map: every value read by `read`. */
export function dict<T>(v: unknown, read: (x: unknown, at: string) => T, at: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, x] of Object.entries(record(v, at))) out[k] = read(x, `${at}.${k}`);
  return out;
}

/** A data packet's JSON object, or null when it is not one. */
export function decodeJson(payload: Uint8Array): Json | null {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(payload));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}
