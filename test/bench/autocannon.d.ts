/** autocannon 9 ships no types: the part of its programmatic API the benchmark uses. */
declare module 'autocannon' {
  interface Options {
    url: string;
    headers?: Record<string, string>;
    connections?: number;
    /** Seconds. */
    duration?: number;
    workers?: number;
    warmup?: { connections?: number; duration?: number };
  }
  interface Histogram {
    total: number;
    average: number;
    p50: number;
    p90: number;
    p99: number;
  }
  interface Result {
    /** Seconds. */
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    /** Milliseconds. */
    latency: Histogram;
    /** Per-second samples; `total` counts completed requests. */
    requests: Histogram;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
