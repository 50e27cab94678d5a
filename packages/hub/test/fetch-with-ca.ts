import https from 'node:https';

/** GET over https trusting exactly `ca` (the hub's self-signed certificate). */
export function fetchWithCa(url: string, ca: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    https
      .get({ host: u.hostname, port: u.port, path: u.pathname, ca, servername: 'localhost' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}
