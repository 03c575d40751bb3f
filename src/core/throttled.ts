/**
 * A call that runs at once, then at most once per `ms`: calls within that time are folded into one
 * more call at its end. For waking a loop on every event of a burst: the first event of a quiet
 * spell is seen at once, a storm's thousands of events cost a pass per `ms` instead of one each.
 */
export interface Throttled {
  (): void;
  /** Drops a folded call not run yet (on stop). */
  cancel(): void;
}

export function throttled(fn: () => void, ms: number): Throttled {
  let timer: NodeJS.Timeout | undefined;
  let folded = false;
  const open = () => {
    timer = setTimeout(() => {
      timer = undefined;
      if (!folded) return;
      folded = false;
      fn();
      open();
    }, ms);
  };
  const call = (() => {
    if (timer) {
      folded = true;
      return;
    }
    fn();
    open();
  }) as Throttled;
  call.cancel = () => {
    clearTimeout(timer);
    timer = undefined;
    folded = false;
  };
  return call;
}
