import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiProblem } from './api/problem';
import { useConsole } from './context';

export interface Resource<T> {
  readonly data?: T;
  readonly error?: ApiProblem;
  readonly loading: boolean;
  reload: () => void;
}

/**
 * GETs `path` (nothing when null) and keeps the answer; with `refreshMs`, reads it again on that
 * interval while the page is visible (live views). A failed refresh keeps the last data.
 */
export function useResource<T>(path: string | null, refreshMs?: number): Resource<T> {
  const { api } = useConsole();
  const [state, setState] = useState<{ data?: T; error?: ApiProblem; loading: boolean }>({
    loading: path !== null,
  });
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  useEffect(() => {
    if (path === null) {
      setState({ loading: false });
      return;
    }
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    api.get<T>(path).then(
      (data) => {
        if (generation.current === mine) setState({ data, loading: false });
      },
      (error: unknown) => {
        if (generation.current === mine) setState((s) => ({ ...s, error: asProblem(error), loading: false }));
      },
    );
  }, [api, path, tick]);
  useEffect(() => {
    if (!refreshMs || path === null) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((t) => t + 1);
    }, refreshMs);
    return () => clearInterval(timer);
  }, [path, refreshMs]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** Runs an action (a POST, a DELETE) and keeps its pending state, result and error for the UI. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [state, setState] = useState<{ pending: boolean; result?: R; error?: ApiProblem }>({
    pending: false,
  });
  const run = useCallback(
    async (...args: A): Promise<R | undefined> => {
      setState({ pending: true });
      try {
        const result = await action(...args);
        setState({ pending: false, result });
        return result;
      } catch (error) {
        setState({ pending: false, error: asProblem(error) });
        return undefined;
      }
    },
    [action],
  );
  const reset = useCallback(() => setState({ pending: false }), []);
  return { ...state, run, reset };
}

export function asProblem(error: unknown): ApiProblem {
  if (error instanceof ApiProblem) return error;
  return new ApiProblem(0, 'Error', error instanceof Error ? error.message : String(error));
}
