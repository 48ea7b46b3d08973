/** A set that forgets its oldest entries beyond `capacity`: dedupe memory that cannot grow without bound. */
export class BoundedSet<T> {
  private readonly items = new Set<T>();
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }
  has(item: T): boolean {
    return this.items.has(item);
  }
  add(item: T): void {
    this.items.delete(item);
    this.items.add(item);
    if (this.items.size > this.capacity) {
      const oldest = this.items.values().next();
      if (!oldest.done) this.items.delete(oldest.value);
    }
  }
  get size(): number {
    return this.items.size;
  }
}
