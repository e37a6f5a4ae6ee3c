/**
 * RootStore.forTenant for the SQL stores: a tenant's handle is only closures over the statements the
 * store prepared once (some 200, tens of microseconds to make), so the recently used ones are kept for
 * the requests of the same tenant, a bounded few (least recently used out): 10,000 tenants never mean
 * 10,000 handles. The default tenant's handle is the root itself; anything that is not a tenant id is
 * refused, so no key or statement ever sees one.
 */
import { DEFAULT_TENANT, TENANT_ID_PATTERN, type Store } from './contract.js';

const HANDLE_CACHE_SIZE = 256;

export function tenantHandles(bind: (tenant: string) => Store, root: () => Store, capacity = HANDLE_CACHE_SIZE): (id: string) => Store {
  const handles = new Map<string, Store>();
  return (id) => {
    if (id === DEFAULT_TENANT) return root();
    const cached = handles.get(id);
    if (cached) {
      // the most recently used last: the first is the one to let go
      handles.delete(id);
      handles.set(id, cached);
      return cached;
    }
    if (!TENANT_ID_PATTERN.test(id)) throw new RangeError(`not a tenant id: ${JSON.stringify(id)}`);
    const handle = bind(id);
    handles.set(id, handle);
    if (handles.size > capacity) handles.delete(handles.keys().next().value!);
    return handle;
  };
}
