/**
 * A set that forgets what was last added more than `capacity` adds ago: dedupe memory that cannot grow
 * without bound. Adding an item again renews it. A ring of the recent adds decides what to forget, in
 * constant time: dropping the oldest entry of a JS Set (`values().next()`) walks over the slots of the
 * entries deleted before it, which made each add cost time in proportion to the capacity.
 */
export class BoundedSet<T> {
  /** Each item and the number of its latest add. */
  private readonly items = new Map<T, number>();
  private readonly ringItems: T[];
  private readonly ringAdds: number[];
  private adds = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.ringItems = new Array<T>(capacity);
    this.ringAdds = new Array<number>(capacity);
  }

  has(item: T): boolean {
    return this.items.has(item);
  }

  add(item: T): void {
    const slot = this.adds % this.capacity;
    if (this.adds >= this.capacity) {
      const old = this.ringItems[slot]!;
      // Forget it unless it was added again since (then a later slot holds it).
      if (this.items.get(old) === this.ringAdds[slot]) this.items.delete(old);
    }
    this.ringItems[slot] = item;
    this.ringAdds[slot] = this.adds;
    this.items.set(item, this.adds);
    this.adds += 1;
  }

  get size(): number {
    return this.items.size;
  }
}
