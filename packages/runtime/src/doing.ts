// What the caller was doing, in the error itself. The NATS connections set noAsyncTraces (the
// attributor's CPU fell 40 % without two stack-capturing Errors per publish), so a nats.js
// TimeoutError carries no caller frames and says only "timeout": a bench area or a service start
// that failed on one named nothing. `doing` prefixes the message in place, keeping the error's
// class, name and fields (retryTransient and isNotFound test those), and names it only once.

export function named<E>(what: string, err: E): E {
  if (err instanceof Error && !err.message.startsWith(`${what}: `)) err.message = `${what}: ${err.message}`;
  return err;
}

export async function doing<T>(what: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw named(what, err);
  }
}
