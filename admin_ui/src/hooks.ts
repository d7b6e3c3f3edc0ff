import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, checkSession, request, type UserError } from "./api";
import type { TypedDocumentString } from "./gql/graphql";

type Vars = Record<string, unknown>;

export type QueryState<T> = { data: T | null; error: string | null; loading: boolean; reload: () => Promise<void> };

/** Run a query now and whenever `variables` change (compared as JSON). */
export function useQuery<TResult, TVariables extends Vars>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  { skip = false } = {},
): QueryState<TResult> {
  const key = JSON.stringify(variables);
  const [state, setState] = useState<{ data: TResult | null; error: string | null; loading: boolean }>({
    data: null,
    error: null,
    loading: !skip,
  });
  const seq = useRef(0);
  const run = useCallback(async () => {
    if (skip) return;
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const data = await (request as (d: unknown, v: unknown) => Promise<TResult>)(document, JSON.parse(key));
      if (mine === seq.current) setState({ data, error: null, loading: false });
    } catch (e) {
      if (mine === seq.current) setState((s) => ({ ...s, error: (e as Error).message, loading: false }));
    }
  }, [document, key, skip]);
  useEffect(() => {
    void run();
  }, [run]);
  return { ...state, reload: run };
}

type Connection<N> = { edges: { node: N }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

export type PagedState<N> = {
  items: N[];
  error: string | null;
  loading: boolean;
  hasMore: boolean;
  loadMore: () => Promise<void>;
  reload: () => Promise<void>;
  totalCount: number | null;
};

/** A cursor connection, page after page ("Load more"). */
export function usePaged<TResult, TVariables extends Vars, N>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: Omit<TVariables, "after" | "first">,
  select: (data: TResult) => (Connection<N> & { totalCount?: number }) | null | undefined,
  pageSize = 25,
): PagedState<N> {
  const key = JSON.stringify(variables);
  const [items, setItems] = useState<N[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [totalCount, setTotalCount] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const selectRef = useRef(select);
  selectRef.current = select;

  const fetchPage = useCallback(
    async (after: string | null) => {
      const mine = ++seq.current;
      setLoading(true);
      setError(null);
      try {
        const data = await (request as (d: unknown, v: unknown) => Promise<TResult>)(document, {
          ...JSON.parse(key),
          first: pageSize,
          after,
        });
        if (mine !== seq.current) return;
        const conn = selectRef.current(data);
        const nodes = conn ? conn.edges.map((e) => e.node) : [];
        setItems((prev) => (after ? [...prev, ...nodes] : nodes));
        setCursor(conn?.pageInfo.endCursor ?? null);
        setHasMore(conn?.pageInfo.hasNextPage ?? false);
        if (conn && typeof conn.totalCount === "number") setTotalCount(conn.totalCount);
      } catch (e) {
        if (mine === seq.current) setError((e as Error).message);
      } finally {
        if (mine === seq.current) setLoading(false);
      }
    },
    [document, key, pageSize],
  );

  useEffect(() => {
    void fetchPage(null);
  }, [fetchPage]);

  return {
    items,
    error,
    loading,
    hasMore,
    totalCount,
    loadMore: () => fetchPage(cursor),
    reload: () => fetchPage(null),
  };
}

export type FormState = {
  errors: UserError[];
  busy: boolean;
  /** Run a mutation; returns true when it succeeded (no userErrors). */
  submit: (run: () => Promise<{ userErrors: UserError[] } | null | undefined>) => Promise<boolean>;
  clear: () => void;
};

export function useForm(): FormState {
  const [errors, setErrors] = useState<UserError[]>([]);
  const [busy, setBusy] = useState(false);
  const submit = useCallback(async (run: () => Promise<{ userErrors: UserError[] } | null | undefined>) => {
    setBusy(true);
    setErrors([]);
    try {
      const payload = await run();
      const found = checkSession(payload?.userErrors ?? []);
      setErrors(found);
      return found.length === 0;
    } catch (e) {
      setErrors([{ field: null, code: e instanceof ApiError ? e.code : "ERROR", message: (e as Error).message }]);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { errors, busy, submit, clear: () => setErrors([]) };
}

export function useLocalStorage<T>(key: string, initial: T): [T, (v: T) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = localStorage.getItem(key);
      return raw === null ? initial : (JSON.parse(raw) as T);
    } catch {
      return initial;
    }
  });
  const set = useCallback(
    (v: T) => {
      setValue(v);
      try {
        localStorage.setItem(key, JSON.stringify(v));
      } catch {
        /* storage full or disabled: the setting lasts for this page only */
      }
    },
    [key],
  );
  return [value, set];
}
