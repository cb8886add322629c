/** The key-value areas the vault lives in. */
/** A key-value area: `browser.storage.local`/`.session` in the add-on, a Map in tests. */
export interface KV {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  remove(key: string): Promise<void>;
}

/** A KV in memory (tests, and as the shape to follow). */
export function memoryKV(): KV & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    async get(k) { return structuredClone(data.get(k)); },
    async set(k, v) { data.set(k, structuredClone(v)); },
    async remove(k) { data.delete(k); },
  };
}
