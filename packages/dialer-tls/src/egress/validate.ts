import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigIssue } from './config-error.js';
import type { RawDocument, RawTlsConfig, RawTransport } from './decode.js';
import {
  EGRESS_API_VERSIONS,
  EGRESS_SELECTION_NAMES,
  PROXY_PROTOCOLS,
  type EgressSelection,
  type EgressSelectorConfiguration,
  type EgressTransport,
  type ProxyProtocol,
} from '@spoke/transport-core/egress';

/**
 * kube-apiserver's checks (`ValidateEgressSelectorConfiguration` plus the
 * decoder's type check and the v1alpha1/v1beta1 `master` → `controlplane`
 * conversion), reporting real field paths. File paths in `tlsConfig` are
 * resolved against `baseDir` and must exist (symlinks followed).
 */
export function validateDocument(doc: RawDocument, baseDir: string, issues: ConfigIssue[]): EgressSelectorConfiguration | undefined {
  if (doc.kind === undefined) {
    issues.push({ field: 'kind', message: 'Required value: the object kind is missing; set kind: EgressSelectorConfiguration' });
  } else if (doc.kind !== 'EgressSelectorConfiguration') {
    issues.push({
      field: 'kind',
      message: `Unsupported value: ${JSON.stringify(doc.kind)}: this file must be an EgressSelectorConfiguration`,
    });
  }
  const versions = EGRESS_API_VERSIONS.map((v) => JSON.stringify(v)).join(', ');
  if (doc.apiVersion === undefined) {
    issues.push({ field: 'apiVersion', message: `Required value: set apiVersion to one of ${versions}` });
  } else if (!(EGRESS_API_VERSIONS as readonly string[]).includes(doc.apiVersion)) {
    // apiserver.config.k8s.io serves other kinds (AuthenticationConfiguration...), never this one.
    issues.push({
      field: 'apiVersion',
      message: `Unsupported value: ${JSON.stringify(doc.apiVersion)}: EgressSelectorConfiguration is served in ${versions} only`,
    });
  }
  if (issues.length > 0) return undefined;

  const selections: EgressSelection[] = [];
  const seen = new Set<string>();
  (doc.egressSelections ?? []).forEach((raw, i) => {
    const at = `egressSelections[${i}]`;
    const before = issues.length;
    // The v1alpha1/v1beta1 conversion rewrites exactly "master"; validation then lower-cases the name.
    const name = (raw.name === 'master' ? 'controlplane' : (raw.name ?? '')).toLowerCase();
    if (seen.has(name)) {
      issues.push({
        field: `${at}.name`,
        message: `Duplicate value: ${JSON.stringify(name)}${raw.name === 'master' ? ' ("master" is the old name of "controlplane")' : ''}`,
      });
    } else {
      seen.add(name);
      if (!(EGRESS_SELECTION_NAMES as readonly string[]).includes(name)) {
        issues.push({
          field: `${at}.name`,
          message: `Unsupported value: ${JSON.stringify(name)}: supported values: ${EGRESS_SELECTION_NAMES.map((n) => `"${n}"`).join(', ')}`,
        });
      }
    }
    const protocol = raw.connection?.proxyProtocol ?? '';
    const transport = raw.connection?.transport;
    const connAt = `${at}.connection`;
    switch (protocol) {
      case 'Direct':
        if (transport !== undefined)
          issues.push({ field: `${connAt}.transport`, message: 'Invalid value: "direct": config must be absent for direct connect' });
        break;
      case 'HTTPConnect':
        checkHttpConnect(transport, `${connAt}.transport`, baseDir, issues);
        break;
      case 'GRPC':
        checkGrpc(transport, `${connAt}.transport`, issues);
        break;
      default:
        issues.push({
          field: `${connAt}.proxyProtocol`,
          message: `Unsupported value: ${JSON.stringify(protocol)}: supported values: ${PROXY_PROTOCOLS.map((p) => `"${p}"`).join(', ')}`,
        });
    }
    if (issues.length === before) {
      selections.push({
        name: name as EgressSelection['name'],
        connection: { proxyProtocol: protocol as ProxyProtocol, ...(transport ? { transport: normalise(transport, baseDir) } : {}) },
      });
    }
  });
  if (issues.length > 0) return undefined;
  return {
    apiVersion: doc.apiVersion as EgressSelectorConfiguration['apiVersion'],
    kind: 'EgressSelectorConfiguration',
    egressSelections: selections,
  };
}

function checkHttpConnect(transport: RawTransport | undefined, at: string, baseDir: string, issues: ConfigIssue[]): void {
  if (transport === undefined) {
    issues.push({ field: at, message: 'Required value: transport must be set for HTTPConnect' });
  } else if (transport.tcp !== undefined && transport.uds !== undefined) {
    issues.push({ field: `${at}.tcp`, message: 'Invalid value: TCP and UDS cannot both be set' });
  } else if (transport.tcp === undefined && transport.uds === undefined) {
    issues.push({ field: `${at}.tcp`, message: 'Required value: One of TCP or UDS must be set' });
  } else if (transport.tcp !== undefined) {
    checkTcp(transport.tcp, `${at}.tcp`, baseDir, issues);
  } else if (transport.uds !== undefined) {
    checkUds(transport.uds, `${at}.uds`, issues);
  }
}

function checkGrpc(transport: RawTransport | undefined, at: string, issues: ConfigIssue[]): void {
  if (transport === undefined) {
    issues.push({ field: at, message: 'Required value: transport must be set for GRPC' });
  } else if (transport.uds === undefined) {
    issues.push({
      field: `${at}.uds`,
      message: 'Required value: UDS must be set with GRPC (kube-apiserver speaks GRPC to the Konnectivity server over a unix socket only)',
    });
  } else {
    checkUds(transport.uds, `${at}.uds`, issues);
  }
}

function checkUds(uds: { udsName?: string }, at: string, issues: ConfigIssue[]): void {
  if (!uds.udsName) issues.push({ field: `${at}.udsName`, message: 'Required value: must be present for UDS connections' });
}

function checkTcp(tcp: { url?: string; tlsConfig?: RawTlsConfig }, at: string, baseDir: string, issues: ConfigIssue[]): void {
  const url = tcp.url ?? '';
  if (url.startsWith('http://')) {
    if (tcp.tlsConfig !== undefined)
      issues.push({ field: `${at}.tlsConfig`, message: 'Invalid value: config must not be present when using HTTP' });
  } else if (url.startsWith('https://')) {
    checkTls(tcp.tlsConfig, `${at}.tlsConfig`, baseDir, issues);
  } else {
    issues.push({
      field: `${at}.url`,
      message: `Invalid value: ${JSON.stringify(url)}: supported connection protocols are http:// and https://`,
    });
  }
}

function checkTls(tls: RawTlsConfig | undefined, at: string, baseDir: string, issues: ConfigIssue[]): void {
  if (tls === undefined) {
    issues.push({ field: at, message: 'Required value: TLSConfig must be present when using HTTPS' });
    return;
  }
  if (tls.caBundle && !exists(resolve(baseDir, tls.caBundle))) {
    issues.push({
      field: `${at}.caBundle`,
      message: `Invalid value: ${JSON.stringify(tls.caBundle)}: TLS config ca bundle does not exist`,
    });
  }
  for (const [key, what] of [
    ['clientCert', 'cert'],
    ['clientKey', 'key'],
  ] as const) {
    const value = tls[key];
    if (!value) issues.push({ field: `${at}.${key}`, message: `Required value: Using TLS requires ${key}` });
    else if (!exists(resolve(baseDir, value)))
      issues.push({ field: `${at}.${key}`, message: `Invalid value: ${JSON.stringify(value)}: TLS client ${what} does not exist` });
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function normalise(t: RawTransport, baseDir: string): EgressTransport {
  if (t.uds) return { uds: { udsName: t.uds.udsName ?? '' } };
  const tcp = t.tcp ?? {};
  const tls = tcp.tlsConfig;
  const abs = (p: string | undefined): string | undefined => (p ? resolve(baseDir, p) : undefined);
  const tlsConfig = tls && {
    ...(abs(tls.caBundle) ? { caBundle: abs(tls.caBundle) } : {}),
    ...(abs(tls.clientCert) ? { clientCert: abs(tls.clientCert) } : {}),
    ...(abs(tls.clientKey) ? { clientKey: abs(tls.clientKey) } : {}),
    ...(tls.tlsServerName ? { tlsServerName: tls.tlsServerName } : {}),
  };
  return { tcp: { url: tcp.url ?? '', ...(tlsConfig ? { tlsConfig } : {}) } };
}
