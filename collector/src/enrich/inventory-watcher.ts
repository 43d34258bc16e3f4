/**
 * Keeps the inventory current: fs.watch for quick reaction plus a periodic stat, because
 * watch events are lost when editors replace the file or it lives on some filesystems.
 * A file that fails to parse keeps the previous inventory, and the log says why.
 */
import { type FSWatcher, readFileSync, statSync, watch } from 'node:fs';
import { type Inventory, parseInventory } from './inventory.ts';

export interface InventoryWatcher {
  stop(): void;
}

export interface InventoryWatchOptions {
  file: string;
  checkMs: number;
  onChange(inv: Inventory, text: string): void;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

/** Loads the file once (throws a message when it cannot), then watches it. */
export function loadInventoryFile(file: string): { inv: Inventory; text: string; warnings: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`inventory ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const res = parseInventory(text);
  if (!res.ok) throw new Error(`inventory ${file}: ${res.reason}`);
  return { inv: res.value, text, warnings: res.warnings };
}

export function watchInventory(opts: InventoryWatchOptions): InventoryWatcher {
  const stamp = () => {
    try {
      const s = statSync(opts.file);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'missing';
    }
  };
  let last = stamp();
  let debounce: NodeJS.Timeout | undefined;
  const check = () => {
    const now = stamp();
    if (now === last) return;
    last = now;
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      opts.log.error(
        { file: opts.file, err: (err as Error).message },
        'inventory unreadable: keeping the previous one',
      );
      return;
    }
    // an empty file is what a writer leaves between truncating and writing (and what a
    // failed write leaves): loading it would drop every tenant at once, so it is refused
    // like bad YAML; the complete file is picked up when it lands
    if (text.trim() === '') {
      opts.log.error({ file: opts.file }, 'inventory is empty: keeping the previous one');
      return;
    }
    const res = parseInventory(text);
    if (!res.ok) {
      opts.log.error({ file: opts.file, reason: res.reason }, 'inventory invalid: keeping the previous one');
      return;
    }
    for (const w of res.warnings) opts.log.warn({ file: opts.file }, `inventory: ${w}`);
    opts.log.info(
      { file: opts.file, tenants: res.value.tenants, subnets: res.value.subnets },
      'inventory reloaded',
    );
    opts.onChange(res.value, text);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(opts.file, () => {
      if (debounce) clearTimeout(debounce);
      debounce = setTimeout(check, 50);
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    // the periodic check covers filesystems without watch support
  }
  const timer = setInterval(check, opts.checkMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (debounce) clearTimeout(debounce);
      watcher?.close();
    },
  };
}
