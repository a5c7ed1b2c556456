/**
 * Synchronous cleanups that must run however this process ends. The local cloud's child
 * processes (DynamoDB Local's JVM) outlive a parent that dies without stopping them and keep
 * their port, so every way out is covered:
 * - normal end, `process.exit()`, uncaught exceptions and unhandled rejections: Node emits `exit`;
 * - SIGINT / SIGTERM / SIGHUP: Node emits no `exit` for a signal it has no listener for, so we
 *   listen, clean up, and then re-raise the signal if nobody else handles it (the process dies of
 *   it exactly as it would have without us). If another listener exists (`npm start`'s graceful
 *   stop, a test runner), that listener owns the shutdown.
 * SIGKILL cannot be caught: `dynamodb.ts` adds a watchdog for that case.
 */

type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;

/** Registers a synchronous cleanup; returns a function that unregisters it (call it after a normal stop). */
export function onExit(cleanup: Cleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

function runCleanups(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // One failing cleanup must not keep the others from running.
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', runCleanups);
  for (const signal of signals) {
    const listener = (): void => {
      runCleanups();
      if (process.listenerCount(signal) > 1) return;
      process.removeListener(signal, listener);
      process.kill(process.pid, signal);
    };
    process.on(signal, listener);
  }
}
