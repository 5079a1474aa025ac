// Runs tasks one after another per key within this process. Writers in other processes still
// race, and the UID protocol of DynamoMailStore.fileMessage stays correct for them; this only
// keeps one process's own concurrent deliveries to a mailbox from fighting over the same UID.

export class KeyedSerialiser {
  /** The last task queued per key; an entry goes when its task is the last one and settles. */
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(() => undefined, () => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with work queued or running (for tests). */
  get activeKeys(): number {
    return this.tails.size;
  }
}
