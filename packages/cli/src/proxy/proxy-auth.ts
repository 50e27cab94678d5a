import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The credentials of `spoke proxy --auth-file`. Each line of the file is
 * either a login `user:password` (SOCKS5 username/password, HTTP Basic) or,
 * without a colon, a token: sent as `Proxy-Authorization: Bearer TOKEN`, or
 * as the password with any user name (`curl --proxy-user any:TOKEN`).
 */
export interface ProxyCredentials {
  /** Whether a user name and password (SOCKS5 RFC 1929, HTTP Basic) match a login, or a token as the password. */
  checkLogin(user: string, password: string): boolean;
  /** Whether an HTTP `Proxy-Authorization` value (Basic or Bearer) passes. */
  checkHeader(value: string | undefined): boolean;
}

// Every check hashes the candidate and compares it with every stored digest, match or not, with
// timingSafeEqual: the time taken says nothing about how much of which credential was right.
function digest(kind: 'login' | 'token', ...parts: string[]): Buffer {
  const hash = createHash('sha256').update(kind);
  for (const part of parts) hash.update('\0').update(part, 'utf8');
  return hash.digest();
}

/** Credentials from the lines of an auth file (already trimmed, blank lines dropped). */
export function createProxyCredentials(lines: readonly string[]): ProxyCredentials {
  const stored = lines.map((line) => {
    const colon = line.indexOf(':');
    return colon < 0 ? digest('token', line) : digest('login', line.slice(0, colon), line.slice(colon + 1));
  });
  const matches = (candidates: readonly Buffer[]): boolean => {
    let found = false;
    for (const candidate of candidates) for (const known of stored) found = timingSafeEqual(candidate, known) || found;
    return found;
  };
  const checkLogin = (user: string, password: string): boolean => matches([digest('login', user, password), digest('token', password)]);
  return {
    checkLogin,
    checkHeader(value) {
      const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(value ?? '');
      if (!match) return false;
      const [, scheme = '', credentials = ''] = match;
      if (scheme.toLowerCase() === 'bearer') return matches([digest('token', credentials)]);
      if (scheme.toLowerCase() !== 'basic') return false;
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon >= 0 && checkLogin(decoded.slice(0, colon), decoded.slice(colon + 1));
    },
  };
}

const REALM = 'spoke proxy';
const BODY = `${REALM}: ERR_AUTH_FAILED: proxy authentication required: send Proxy-Authorization: Basic (a login or any:TOKEN) or Bearer TOKEN from --auth-file.\n`;

/** The 407 answer to a request without valid proxy credentials; the connection is closed after it. */
export const PROXY_AUTH_REQUIRED = {
  status: 407,
  headers: {
    'Proxy-Authenticate': `Basic realm="${REALM}", Bearer realm="${REALM}"`,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(BODY)),
    'X-Spoke-Error-Code': 'ERR_AUTH_FAILED',
    Connection: 'close',
  },
  body: BODY,
} as const;

/** {@link PROXY_AUTH_REQUIRED} as raw bytes, for a CONNECT answered on the socket. */
export const RAW_PROXY_AUTH_REQUIRED =
  'HTTP/1.1 407 Proxy Authentication Required\r\n' +
  Object.entries(PROXY_AUTH_REQUIRED.headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('') +
  `\r\n${BODY}`;
