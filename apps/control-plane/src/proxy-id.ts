/** `[scheme:]name[:port]` of a proxy subresource id. */
export interface ProxyId {
  scheme: '' | 'http' | 'https';
  name: string;
  port: string;
}

/**
 * Splits a proxy id the way apimachinery's `SplitSchemeNamePort` does: one
 * part is a name, two are `name:port`, three are `scheme:name:port` (scheme
 * `http`, `https` or empty; port may be empty). Anything else is undefined.
 */
export function splitSchemeNamePort(id: string): ProxyId | undefined {
  const parts = id.split(':');
  let scheme = '';
  let name: string;
  let port = '';
  if (parts.length === 1) name = parts[0] as string;
  else if (parts.length === 2) [name, port] = parts as [string, string];
  else if (parts.length === 3) [scheme, name, port] = parts as [string, string, string];
  else return undefined;
  if (name.length === 0) return undefined;
  if (scheme !== '' && scheme !== 'http' && scheme !== 'https') return undefined;
  return { scheme, name, port };
}
