/** A listener for one event type. */
export type Listener<T> = (payload: T) => void;

/**
 * A minimal typed emitter. A throwing listener is reported and does not stop the others,
 * so one faulty UI handler cannot wedge the session's event processing.
 */
export class Emitter<EventMap extends object> {
  readonly #listeners = new Map<keyof EventMap, Set<Listener<never>>>();

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof EventMap>(type: K, listener: Listener<EventMap[K]>): () => void {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => {
      set.delete(listener as Listener<never>);
    };
  }

  emit<K extends keyof EventMap>(type: K, payload: EventMap[K]): void {
    const set = this.#listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<EventMap[K]>)(payload);
      } catch (error) {
        console.error(`A "${String(type)}" listener threw`, error);
      }
    }
  }
}
