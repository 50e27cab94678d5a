import type { SpokeErrorCode } from '../errors.js';

/** spoke/1 frame type bytes (PROTOCOL.md §2). */
export const FrameType = {
  DATA: 0x00,
  WINDOW: 0x01,
  FIN: 0x02,
  HELLO: 0x10,
  DIAL: 0x11,
  DIAL_OK: 0x12,
  DIAL_ERR: 0x13,
  RESET: 0x14,
  PING: 0x15,
  PONG: 0x16,
  GOAWAY: 0x17,
  LISTEN: 0x18,
  LISTEN_OK: 0x19,
  LISTEN_ERR: 0x1a,
} as const;

/**
 * Optional features a peer announces in HELLO (`f`): a peer sends a frame of a feature only
 * to a peer that announced it, so older peers never see its type byte (PROTOCOL.md §3).
 */
export const FEATURES = {
  /** The sender accepts LISTEN (opens listeners on the peer's behalf and DIALs their connections back). */
  listen: 'listen',
} as const;

/** The protocol versions this implementation speaks. */
export const PROTOCOL_VERSIONS: readonly number[] = [1];

/** Session roles: the initiator opened the carrier and uses odd stream ids. */
export type SessionRole = 'initiator' | 'responder';

/** Wire limits from PROTOCOL.md §6. */
export const LIMITS = {
  minFrame: 1024,
  maxFrame: 16 * 1024 * 1024,
  maxWindow: 2 ** 31 - 1,
  frameOverhead: 16,
  controlFrame: 16 * 1024,
  id: 256,
  identifiers: 4096,
  target: 1024,
  message: 1024,
  features: 16,
  feature: 64,
} as const;

/** Largest encoded frame a receiver with this maxFrame accepts. */
export function frameLimit(maxFrame: number): number {
  return Math.max(maxFrame, LIMITS.controlFrame) + LIMITS.frameOverhead;
}

export interface DataFrame {
  type: 'DATA';
  stream: number;
  data: Buffer;
}
export interface WindowFrame {
  type: 'WINDOW';
  stream: number;
  increment: number;
}
export interface FinFrame {
  type: 'FIN';
  stream: number;
}
export interface HelloFrame {
  type: 'HELLO';
  versions: number[];
  role: SessionRole;
  id: string;
  identifiers: string;
  maxFrame: number;
  initialWindow: number;
  sessionWindow: number;
  auth?: string;
  extensions?: Record<string, unknown>;
  /** Optional features the sender accepts ({@link FEATURES}). */
  features?: string[];
}
export interface DialFrame {
  type: 'DIAL';
  stream: number;
  target: string;
  protocol?: string;
}
export interface DialOkFrame {
  type: 'DIAL_OK';
  stream: number;
}
export interface DialErrFrame {
  type: 'DIAL_ERR';
  stream: number;
  code: string;
  message: string;
}
export interface ResetFrame {
  type: 'RESET';
  stream: number;
  code: string;
  message: string;
}
export interface PingFrame {
  type: 'PING';
  nonce: number;
}
export interface PongFrame {
  type: 'PONG';
  nonce: number;
}
export interface GoAwayFrame {
  type: 'GOAWAY';
  code: string;
  message: string;
  lastStream: number;
}

/** Asks the peer to open a listener on `bind` (`host:port`) and DIAL each connection it accepts back to us. */
export interface ListenFrame {
  type: 'LISTEN';
  /** Request id, chosen by the sender: ≥ 1 and above its previous one. */
  request: number;
  bind: string;
}
export interface ListenOkFrame {
  type: 'LISTEN_OK';
  request: number;
  /** The address the listener is bound to (the port filled in when `bind` asked for port 0). */
  bound: string;
}
export interface ListenErrFrame {
  type: 'LISTEN_ERR';
  request: number;
  code: string;
  message: string;
}

/** Any spoke/1 frame. */
export type Frame =
  | DataFrame
  | WindowFrame
  | FinFrame
  | HelloFrame
  | DialFrame
  | DialOkFrame
  | DialErrFrame
  | ResetFrame
  | PingFrame
  | PongFrame
  | GoAwayFrame
  | ListenFrame
  | ListenOkFrame
  | ListenErrFrame;

/** A code carried on the wire (a SpokeErrorCode from a well-behaved peer). */
export type WireCode = SpokeErrorCode | (string & {});
