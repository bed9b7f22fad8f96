/**
 * A captured request as the logs API serves it (`GET /logs/requests/{id}`) and the dashboard, the
 * CLI and the HAR export read it. Type-only: the dashboard takes these declarations as they are.
 */
import type { AccessLogRow } from '../access-log/row.ts';

export interface CapturedBody {
  /** The bytes as text when they are UTF-8, else base64 (`encoding`). Secrets redacted. */
  text: string;
  encoding: 'utf8' | 'base64';
  /** Bytes in all, also those past the cap. */
  size: number;
  /** Only the first `observability.capture_max_bytes` were kept. */
  truncated: boolean;
}

/** One server-sent event of a stream, with its arrival time (ms since the request began). */
export interface CapturedEvent {
  t: number;
  event: string;
  data: string;
}

/** A request (method, url) or a response (status) with its headers and body. */
export interface CapturedPart {
  method?: string;
  url?: string;
  /** A response's status; null when the client left before any answer. */
  status?: number | null;
  /** When it was sent or its headers arrived, ms since the request began. */
  t?: number;
  headers: Record<string, string>;
  body: CapturedBody | null;
  /** An event stream, event by event (the body's text is the same events, joined). */
  events?: CapturedEvent[];
}

export interface CapturedAgent {
  /** The Agent SDK's messages of the run, in order, each with its time. */
  messages: Array<{ t: number; message: unknown }>;
  size: number;
  truncated: boolean;
}

export interface Capture {
  id: string;
  /** Start time, epoch ms (the access-log row's `ts`). */
  ts: number;
  mode: string;
  format: string;
  /** Some body was cut at the cap. */
  truncated: boolean;
  /** What the client sent. */
  client_request: CapturedPart;
  /** Translated formats: the Anthropic request the translation made, before ccproxy's own changes. */
  translated_request: unknown;
  /** API mode: the request as sent upstream (the last attempt), after translation, injection and header changes. */
  upstream_request: CapturedPart | null;
  /** Earlier attempts of a retried upstream call: when, and the status they got (null: no answer). */
  upstream_attempts: Array<{ t: number; status: number | null }>;
  /** API mode: the upstream's answer to the last attempt, raw. */
  upstream_response: CapturedPart | null;
  /** SDK mode: the agent's messages. */
  agent: CapturedAgent | null;
  /** What was written to the client. */
  response: CapturedPart | null;
}

/** `GET /logs/requests/{id}`: the access-log row and, when the request was captured, the capture. */
export interface RequestDetail {
  row: AccessLogRow | null;
  capture: Capture | null;
  /** observability.capture as the proxy runs it (why a request may have no capture). */
  capture_mode: 'off' | 'errors' | 'all';
}
