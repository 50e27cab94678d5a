import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@spoke/transport-core';
import type { ContainerConfig, ContainerPortConfig, PodConfig } from './config.js';
import { FileTailer } from './file-tailer.js';
import { spawnPty, type PtyProcess } from './pty.js';
import { LogBuffer } from './log-buffer.js';

/** A running stand-in container. */
export interface Container {
  readonly config: ContainerConfig;
  readonly log: LogBuffer;
  /** Declared ports plus the built-in HTTP server's. */
  readonly ports: ContainerPortConfig[];
  /** The `command` process, if any. */
  process: ChildProcess | undefined;
  /** Its terminal, when the container has `tty` (input and sizes go through it). */
  pty: PtyProcess | undefined;
  startedAt: Date;
  exitCode: number | null;
}

/** A pod and its containers. */
export interface Pod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels: Record<string, string>;
  readonly containers: Map<string, Container>;
  readonly createdAt: Date;
}

/**
 * Starts and stops the node's pods: built-in HTTP servers, `command`
 * processes whose output is the log, file tailers.
 */
export class PodRuntime {
  readonly pods = new Map<string, Pod>();
  private readonly servers: http.Server[] = [];
  private readonly tailers: FileTailer[] = [];

  constructor(
    private readonly nodeName: string,
    private readonly logger: Logger,
  ) {}

  /** Starts every container of every pod. */
  async start(configs: PodConfig[]): Promise<void> {
    for (const config of configs) {
      const namespace = config.namespace ?? 'default';
      const pod: Pod = {
        namespace,
        name: config.name,
        uid: randomUUID(),
        labels: config.labels ?? {},
        containers: new Map(),
        createdAt: new Date(),
      };
      for (const c of config.containers) pod.containers.set(c.name, await this.startContainer(pod, c));
      this.pods.set(`${namespace}/${config.name}`, pod);
    }
  }

  /** Finds a pod. */
  get(namespace: string, name: string): Pod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  /** Stops processes, servers and tailers. */
  async stop(): Promise<void> {
    for (const tailer of this.tailers) tailer.close();
    const exits: Array<Promise<void>> = [];
    for (const pod of this.pods.values()) {
      for (const c of pod.containers.values()) {
        const proc = c.process;
        if (proc && proc.exitCode === null && proc.signalCode === null) {
          exits.push(new Promise((r) => proc.once('close', () => r())));
          proc.kill('SIGKILL');
        }
      }
    }
    for (const server of this.servers) {
      server.closeAllConnections();
      exits.push(new Promise((r) => server.close(() => r())));
    }
    await Promise.all(exits);
  }

  /** The v1 Pod object the kubelet reports. */
  toObject(pod: Pod): Record<string, unknown> {
    const containers = [...pod.containers.values()];
    const running = containers.filter((c) => c.exitCode === null).length;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.name, namespace: pod.namespace, uid: pod.uid, creationTimestamp: iso(pod.createdAt), labels: pod.labels },
      spec: {
        nodeName: this.nodeName,
        containers: containers.map((c) => ({
          name: c.config.name,
          image: c.config.image ?? 'spoke/local',
          ...(c.config.command ? { command: c.config.command } : {}),
          ...(c.config.stdin ? { stdin: true } : {}),
          ...(c.config.tty ? { tty: true } : {}),
          ports: c.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort, protocol: 'TCP' })),
        })),
      },
      status: {
        phase:
          running > 0 || containers.every((c) => !c.config.command)
            ? 'Running'
            : containers.every((c) => c.exitCode === 0)
              ? 'Succeeded'
              : 'Failed',
        hostIP: '127.0.0.1',
        podIP: '127.0.0.1',
        podIPs: [{ ip: '127.0.0.1' }],
        startTime: iso(pod.createdAt),
        conditions: [{ type: 'Ready', status: running === containers.length ? 'True' : 'False', lastTransitionTime: iso(pod.createdAt) }],
        containerStatuses: containers.map((c) => ({
          name: c.config.name,
          image: c.config.image ?? 'spoke/local',
          imageID: '',
          ready: c.exitCode === null,
          started: c.exitCode === null,
          restartCount: 0,
          state:
            c.exitCode === null
              ? { running: { startedAt: iso(c.startedAt) } }
              : { terminated: { exitCode: c.exitCode, reason: c.exitCode === 0 ? 'Completed' : 'Error' } },
        })),
      },
    };
  }

  private async startContainer(pod: Pod, config: ContainerConfig): Promise<Container> {
    const container: Container = {
      config,
      log: new LogBuffer(),
      ports: [...(config.ports ?? [])],
      process: undefined,
      pty: undefined,
      startedAt: new Date(),
      exitCode: null,
    };
    if (config.http) {
      const body = config.http.body ?? `hello from ${pod.name}/${config.name}\n`;
      const server = http.createServer((req, res) => {
        container.log.append('stdout', Buffer.from(`${req.method} ${req.url}\n`));
        res.writeHead(200, {
          'content-type': 'text/plain; charset=utf-8',
          'x-spoke-pod': `${pod.namespace}/${pod.name}`,
          'x-spoke-path': req.url ?? '/',
        });
        res.end(body);
      });
      await new Promise<void>((r) => server.listen(config.http?.port ?? 0, '127.0.0.1', r));
      this.servers.push(server);
      container.ports.push({ name: config.http.portName ?? 'http', containerPort: (server.address() as AddressInfo).port });
    }
    if (config.logFile) this.tailers.push(new FileTailer(config.logFile, container.log));
    if (config.command && config.command.length > 0) {
      const [file, ...args] = config.command;
      container.pty = config.tty ? spawnPty(config.command, processOptions(config)) : undefined;
      const proc =
        container.pty?.process ??
        spawn(file as string, args, { ...processOptions(config), stdio: [config.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      proc.stdout?.on('data', (chunk: Buffer) => container.log.append('stdout', chunk));
      proc.stderr?.on('data', (chunk: Buffer) => container.log.append('stderr', chunk));
      proc.on('error', (err) => {
        container.log.append('stderr', Buffer.from(`failed to start ${file}: ${err.message}\n`));
      });
      proc.on('close', (code, signal) => {
        container.exitCode = code ?? (signal ? 128 : 1);
        container.log.end();
        this.logger.info('container exited', { pod: `${pod.namespace}/${pod.name}`, container: config.name, code: container.exitCode });
      });
      container.process = proc;
    }
    return container;
  }
}

/** Where and with what environment a container's processes (its `command`, every exec) run. */
export function processOptions(config: ContainerConfig): { cwd: string; env: NodeJS.ProcessEnv } {
  return {
    cwd: config.workingDir ?? process.cwd(),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', ...config.env },
  };
}

/** RFC 3339 without fractional seconds, as Kubernetes timestamps are written. */
export function iso(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
