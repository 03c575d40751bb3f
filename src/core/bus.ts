/**
 * The internal bus of domain events (batch appended, alert fired, incident changed, notification
 * sent...). Producers emit; later features subscribe without the producer knowing them. Each
 * domain adds its events to `BusEvents` by declaration merging:
 *
 *   declare module './bus.js' { interface BusEvents { 'alert.fired': AlertFired } }
 *
 * Listeners run synchronously in emit order; a throwing listener is reported, not propagated, so
 * one subscriber cannot break a producer.
 */
export interface BusEvents {
  'log.appended': { tenant: string; partition: number; position: number; count: number };
}

type Listener<T> = (event: T) => void;

export class Bus {
  private readonly listeners = new Map<keyof BusEvents, Set<Listener<never>>>();

  constructor(private readonly onError: (event: string, err: unknown) => void = () => undefined) {}

  on<K extends keyof BusEvents>(name: K, fn: Listener<BusEvents[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(fn as Listener<never>);
    return () => set.delete(fn as Listener<never>);
  }

  emit<K extends keyof BusEvents>(name: K, event: BusEvents[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const fn of set) {
      try {
        (fn as Listener<BusEvents[K]>)(event);
      } catch (e) {
        this.onError(name, e);
      }
    }
  }
}
