import { EventEmitter } from 'node:events';

/** One line of a container log. */
export interface LogEntry {
  time: Date;
  stream: 'stdout' | 'stderr';
  /** The line, with its trailing newline. */
  line: Buffer;
}

/**
 * A container's log: the last `capacity` lines plus live subscribers (the
 * kubelet's log files and `follow`, in memory). Partial lines are held until
 * their newline arrives so a follower never sees half a line.
 */
export class LogBuffer extends EventEmitter<{ entry: [LogEntry]; end: [] }> {
  private readonly entries: LogEntry[] = [];
  private readonly partial = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  /** True once the source ended (the process exited); followers then finish. */
  ended = false;

  constructor(private readonly capacity = 10_000) {
    super();
    this.setMaxListeners(0);
  }

  /** Appends raw output; complete lines become entries. */
  append(stream: 'stdout' | 'stderr', chunk: Buffer, time = new Date()): void {
    let data = Buffer.concat([this.partial[stream], chunk]);
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
      this.add({ time, stream, line: data.subarray(0, nl + 1) });
      data = data.subarray(nl + 1);
    }
    this.partial[stream] = Buffer.from(data);
  }

  /** Marks the end of the source; a pending partial line is flushed with a newline. */
  end(): void {
    if (this.ended) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream].length > 0) this.append(stream, Buffer.from('\n'));
    }
    this.ended = true;
    this.emit('end');
  }

  /** The stored entries, oldest first. */
  snapshot(): LogEntry[] {
    return [...this.entries];
  }

  private add(entry: LogEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
    this.emit('entry', entry);
  }
}
