// hooks.ts - loading data: one object, and keyset-paged lists.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type Page } from './api';

/** GETs path (null: nothing yet) and reloads when it changes. */
export function useLoad<T>(path: string | null) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setLoading(true);
    setError(null);
    api<T>('GET', path)
      .then((d) => live && setData(d))
      .catch((e) => live && setError(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, setData };
}

/** A keyset-paged list of `base` (which already carries its filters):
 * first page on change, then "load more" with starting_after. */
export function useKeyset<T extends { id: string | number }>(base: string | null, limit = 20) {
  const [items, setItems] = useState<T[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const generation = useRef(0);

  const fetchPage = useCallback(
    async (after: string | null, replace: boolean) => {
      if (!base) return;
      const gen = ++generation.current;
      setLoading(true);
      setError(null);
      const sep = base.includes('?') ? '&' : '?';
      try {
        const page = await api<Page<T>>('GET', `${base}${sep}limit=${limit}${after ? '&starting_after=' + encodeURIComponent(after) : ''}`);
        if (gen !== generation.current) return;
        setItems((old) => (replace ? page.data : [...old, ...page.data]));
        setHasMore(page.has_more);
      } catch (e) {
        if (gen === generation.current) setError(e);
      } finally {
        if (gen === generation.current) setLoading(false);
      }
    },
    [base, limit],
  );

  useEffect(() => {
    setItems([]);
    setHasMore(false);
    void fetchPage(null, true);
  }, [fetchPage]);

  const loadMore = useCallback(() => {
    const last = items[items.length - 1];
    if (last) void fetchPage(String(last.id), false);
  }, [items, fetchPage]);
  const reload = useCallback(() => void fetchPage(null, true), [fetchPage]);
  return { items, hasMore, error, loading, loadMore, reload };
}
