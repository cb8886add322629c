/**
 * Where the store's database lives on disk (PROTOCOL.md §6.1): generation N in `db.N` under the
 * data directory, `db.current` naming the live one (generation 0 is a v1 store kept in the data
 * directory itself). The forgetting rewrite makes generation N+1 and removes N with its files.
 */
import { Level } from 'level';
import { existsSync } from 'node:fs';
import { mkdir, open as openFile, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DB } from './tables.ts';

/** The directory of generation `gen`. */
export const genDir = (dir: string, gen: number) => (gen === 0 ? dir : join(dir, `db.${gen}`));
const POINTER = 'db.current';
/** Files of a database that v1 kept directly in the data directory (generation 0). */
const isLegacyDbFile = (f: string) => /^(CURRENT|LOCK|LOG|LOG\.old|MANIFEST-\d+|\d+\.(ldb|log|sst))$/.test(f);

/** Write a small file so that a crash leaves either the old or the new content. */
async function writeAtomic(dir: string, name: string, text: string) {
  const tmp = join(dir, `${name}.tmp`);
  await writeFile(tmp, text);
  const fh = await openFile(tmp, 'r+'); await fh.sync(); await fh.close();
  await rename(tmp, join(dir, name));
  const d = await openFile(dir, 'r'); await d.sync(); await d.close();
}

/** Open (creating if needed) the LevelDB database at `path`. */
export async function openDb(path: string): Promise<DB> {
  // in Node, `level` is classic-level (LevelDB): it has `sync` writes
  const db = new Level<string, string>(path, { valueEncoding: 'utf8' }) as unknown as DB;
  await db.open();
  return db;
}

/** The live generation of data directory `dir` (a new store starts at 1); half-made generations a crash left are removed. */
export async function currentGeneration(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  let gen: number;
  if (existsSync(join(dir, POINTER))) gen = Number((await readFile(join(dir, POINTER), 'utf8')).trim());
  else if (existsSync(join(dir, 'CURRENT'))) gen = 0; // a v1 store, kept in the data dir itself
  else { gen = 1; await mkdir(genDir(dir, 1), { recursive: true }); await writeAtomic(dir, POINTER, '1\n'); }
  if (!Number.isInteger(gen) || gen < 0) throw new Error('the store pointer db.current is damaged');
  // a rewrite that a crash interrupted leaves a half-made generation behind: remove it
  for (const f of await readdir(dir)) {
    const m = /^db\.(\d+)$/.exec(f);
    if (m && Number(m[1]) !== gen) await rm(join(dir, f), { recursive: true, force: true });
  }
  return gen;
}

/** Make `gen` the live generation (atomically, durably). */
export const pointTo = (dir: string, gen: number) => writeAtomic(dir, POINTER, `${gen}\n`);

/** Remove generation `gen` and every file it had. */
export async function removeGeneration(dir: string, gen: number): Promise<void> {
  if (gen === 0) {
    for (const f of await readdir(dir)) if (isLegacyDbFile(f)) await rm(join(dir, f), { force: true });
  } else {
    await rm(genDir(dir, gen), { recursive: true, force: true });
  }
}
