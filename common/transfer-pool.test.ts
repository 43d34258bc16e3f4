import { describe, expect, it } from 'vitest';
import { allocTransfer, enableTransferPool, giveBack, transferPoolBytes } from './transfer-pool.ts';

// one module instance per test file: the pool is off until the first test turns it on
describe('transfer pool', () => {
  it('is off by default: exact-size buffers of their own, nothing kept', () => {
    const a = allocTransfer(1000);
    expect(a.byteLength).toBe(1000);
    expect(a.buffer.byteLength).toBe(1000);
    giveBack([new ArrayBuffer(1 << 20)]);
    expect(transferPoolBytes()).toBe(0);
  });

  it('reuses a given-back buffer for the next chunk that fits, smallest first', () => {
    enableTransferPool(8 << 20);
    const big = allocTransfer(700_000);
    expect(big.byteLength).toBe(700_000);
    expect(big.buffer.byteLength).toBe(1 << 20); // a power of two, so later chunks fit
    const small = allocTransfer(100);
    expect(small.buffer.byteLength).toBe(64 * 1024);
    giveBack([big.buffer as ArrayBuffer, small.buffer as ArrayBuffer]);
    expect(transferPoolBytes()).toBe((1 << 20) + 64 * 1024);
    const next = allocTransfer(50_000);
    expect(next.buffer).toBe(small.buffer);
    expect(next.byteLength).toBe(50_000);
    const again = allocTransfer(900_000);
    expect(again.buffer).toBe(big.buffer);
    expect(transferPoolBytes()).toBe(0);
    // none left that fits: a new one
    expect(allocTransfer(10).buffer).not.toBe(small.buffer);
  });

  it('keeps no more than its budget', () => {
    enableTransferPool(1 << 20);
    const a = allocTransfer(600_000).buffer as ArrayBuffer;
    const b = allocTransfer(600_000).buffer as ArrayBuffer;
    giveBack([a, b]);
    expect(transferPoolBytes()).toBe(1 << 20);
    allocTransfer(600_000);
    expect(transferPoolBytes()).toBe(0);
  });
});
