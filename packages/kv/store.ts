/**
 * The small key-value surface the data plane needs. Production uses Upstash Redis; `npm start`
 * uses memory. Values are strings; callers encode.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}
