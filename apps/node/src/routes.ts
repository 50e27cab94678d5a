/** A kubelet path, parsed. */
export type Route =
  | { kind: 'healthz' }
  | { kind: 'pods' }
  | { kind: 'containerLogs'; namespace: string; pod: string; container: string }
  | { kind: 'exec' | 'attach'; namespace: string; pod: string; container: string }
  | { kind: 'portForward'; namespace: string; pod: string }
  | { kind: 'unknown' };

/**
 * Parses the kubelet's paths: `/healthz[/check]`, `/pods`,
 * `/containerLogs/{ns}/{pod}/{container}`, `/exec|attach/{ns}/{pod}[/{uid}]/{container}`,
 * `/portForward/{ns}/{pod}[/{uid}]`.
 */
export function parseRoute(pathOrUrl: string): Route {
  const path = pathOrUrl.split('?')[0] ?? '/';
  const parts = path
    .split('/')
    .filter((p) => p.length > 0)
    .map((p) => decodeURIComponent(p));
  const [head, ...rest] = parts;
  switch (head) {
    case 'healthz':
      return { kind: 'healthz' };
    case 'pods':
      return rest.length === 0 ? { kind: 'pods' } : { kind: 'unknown' };
    case 'containerLogs':
      return rest.length === 3
        ? { kind: 'containerLogs', namespace: rest[0] as string, pod: rest[1] as string, container: rest[2] as string }
        : { kind: 'unknown' };
    case 'exec':
    case 'attach':
      if (rest.length !== 3 && rest.length !== 4) return { kind: 'unknown' };
      return { kind: head, namespace: rest[0] as string, pod: rest[1] as string, container: rest[rest.length - 1] as string };
    case 'portForward':
      if (rest.length !== 2 && rest.length !== 3) return { kind: 'unknown' };
      return { kind: 'portForward', namespace: rest[0] as string, pod: rest[1] as string };
    default:
      return { kind: 'unknown' };
  }
}
