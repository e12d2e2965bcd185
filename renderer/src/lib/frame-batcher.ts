/**
 * Collects high-rate events and hands them over once per animation frame, so the store (and React)
 * update at most once per frame however fast the decoder runs.
 */
export interface FrameScheduler {
  request(callback: () => void): number;
  cancel(handle: number): void;
}

export const animationFrames: FrameScheduler = {
  request: (callback) => requestAnimationFrame(() => callback()),
  cancel: (handle) => cancelAnimationFrame(handle),
};

export interface FrameBatcher<T> {
  push(item: T): void;
  /** Hands over whatever is queued now (used on teardown). */
  flush(): void;
  dispose(): void;
}

export function createFrameBatcher<T>(deliver: (items: T[]) => void, scheduler: FrameScheduler = animationFrames): FrameBatcher<T> {
  let queue: T[] = [];
  let handle: number | null = null;
  const flush = (): void => {
    handle = null;
    if (queue.length === 0) return;
    const items = queue;
    queue = [];
    deliver(items);
  };
  return {
    push(item) {
      queue.push(item);
      if (handle === null) handle = scheduler.request(flush);
    },
    flush() {
      if (handle !== null) scheduler.cancel(handle);
      flush();
    },
    dispose() {
      if (handle !== null) scheduler.cancel(handle);
      handle = null;
      queue = [];
    },
  };
}
