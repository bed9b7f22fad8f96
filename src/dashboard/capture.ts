/**
 * One request's capture in the details panel (observability.capture): the client's request, what
 * ccproxy changed on the way up, the upstream request and response, the agent's messages (SDK mode)
 * and the answer — JSON pretty-printed and collapsible, streams as their events with times — and
 * "Copy as curl" (against this proxy, the token as $CCPROXY_TOKEN) and "Download HAR".
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { bodyJson, requestChanges } from '../observability/capture/changes.ts';
import { type Change, describeChange } from '../observability/capture/diff.ts';
import { toHar } from '../observability/capture/har.ts';
import { curlCommand } from '../observability/capture/replay.ts';
import type { Capture, CapturedPart, RequestDetail } from '../observability/capture/types.ts';

type Json = unknown;

/** A JSON value as a tree; objects and arrays fold (the first levels open). */
export function JsonView(props: { value: Json; depth?: number; name?: string }) {
  const depth = props.depth ?? 0;
  const v = props.value;
  const label = props.name !== undefined ? h('span', { class: 'json-key' }, `${props.name}: `) : null;
  if (v === null || typeof v !== 'object') {
    const kind = v === null ? 'null' : typeof v;
    return h('div', { class: 'json-leaf' }, label, h('span', { class: `json-${kind}` }, JSON.stringify(v)));
  }
  const entries: Array<[string, Json]> = Array.isArray(v)
    ? v.map((x, i) => [String(i), x])
    : Object.entries(v);
  const shape = Array.isArray(v) ? `[${entries.length}]` : `{${entries.length}}`;
  return h(
    'details',
    { class: 'json-node', open: depth < 2 },
    h('summary', null, label, h('span', { class: 'muted' }, shape)),
    entries.map(([k, x]) => h(JsonView, { key: k, value: x, depth: depth + 1, name: k })),
  );
}

function Headers(props: { headers: Record<string, string> }) {
  const list = Object.entries(props.headers);
  return h(
    'details',
    { class: 'headers' },
    h('summary', null, `Headers (${list.length})`),
    h(
      'dl',
      null,
      list.flatMap(([k, v]) => [h('dt', { key: `k${k}` }, k), h('dd', { key: `v${k}` }, v)]),
    ),
  );
}

function Body(props: { part: CapturedPart }) {
  const { part } = props;
  const b = part.body;
  if (!b) return h('p', { class: 'muted' }, 'No body.');
  const cut = b.truncated
    ? h('p', { class: 'pill bad' }, `Cut at the capture cap: ${b.size} bytes in all.`)
    : null;
  if (part.events) {
    return h(
      'div',
      null,
      cut,
      h(
        'ol',
        { class: 'events' },
        part.events.map((e, i) => {
          let data: Json = e.data;
          try {
            data = JSON.parse(e.data);
          } catch {}
          return h(
            'li',
            { key: i },
            h('span', { class: 'event-t' }, `+${e.t.toFixed(1)} ms`),
            h('span', { class: 'event-name' }, e.event),
            typeof data === 'object' && data !== null
              ? h(JsonView, { value: data, depth: 2 })
              : h('code', null, String(data)),
          );
        }),
      ),
    );
  }
  if (b.encoding === 'base64')
    return h('div', null, cut, h('p', { class: 'muted' }, 'Not UTF-8 (base64):'), h('pre', null, b.text));
  const doc = bodyJson(b);
  return h('div', null, cut, doc === undefined ? h('pre', null, b.text) : h(JsonView, { value: doc }));
}

function Part(props: { part: CapturedPart | null; empty: string }) {
  const p = props.part;
  if (!p) return h('p', { class: 'muted' }, props.empty);
  const head = p.method ? `${p.method} ${p.url}` : `HTTP ${p.status ?? '– (no answer)'}`;
  return h(
    'div',
    { class: 'part' },
    h(
      'p',
      null,
      h('strong', null, head),
      p.t !== undefined ? h('span', { class: 'muted' }, `  +${p.t.toFixed(1)} ms`) : null,
    ),
    h(Headers, { headers: p.headers }),
    h(Body, { part: p }),
  );
}

function ChangeList(props: { changes: Change[]; id: string }) {
  if (props.changes.length === 0) return h('p', { class: 'muted', id: props.id }, 'Unchanged.');
  return h(
    'ul',
    { class: 'changes', id: props.id },
    props.changes.map((c, i) => h('li', { key: i, class: `change ${c.kind}` }, describeChange(c, 300))),
  );
}

function Changes(props: { capture: Capture }) {
  const ch = requestChanges(props.capture);
  if (!ch) return h('p', { class: 'muted' }, 'Nothing went upstream (SDK mode, or refused before).');
  return h(
    'div',
    { id: 'capture-changes' },
    h('p', { class: 'muted' }, `The ${ch.basis} against the request sent upstream.`),
    h('h4', null, 'Body'),
    ch.note
      ? h('p', { class: 'muted' }, `Not compared: ${ch.note}.`)
      : h(ChangeList, { changes: ch.body, id: 'body-changes' }),
    h('h4', null, 'Headers'),
    h(ChangeList, { changes: ch.headers, id: 'header-changes' }),
  );
}

function Agent(props: { capture: Capture }) {
  const a = props.capture.agent;
  if (!a) return h('p', { class: 'muted' }, 'No agent messages.');
  return h(
    'ol',
    { class: 'events' },
    a.messages.map((m, i) =>
      h(
        'li',
        { key: i },
        h('span', { class: 'event-t' }, `+${m.t.toFixed(1)} ms`),
        h('span', { class: 'event-name' }, String((m.message as { type?: string })?.type ?? '')),
        h(JsonView, { value: m.message, depth: 2 }),
      ),
    ),
  );
}

const TABS = ['client', 'changes', 'upstream-request', 'upstream-response', 'agent', 'response'] as const;
type Tab = (typeof TABS)[number];
const TAB_NAMES: Record<Tab, string> = {
  client: 'Client request',
  changes: 'Changes',
  'upstream-request': 'Upstream request',
  'upstream-response': 'Upstream response',
  agent: 'Agent messages',
  response: 'Response',
};

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function CapturePanel(props: { detail: RequestDetail & { capture: Capture } }) {
  const c = props.detail.capture;
  const [tab, setTab] = useState<Tab>('client');
  const [curl, setCurl] = useState<{ text: string; copied: boolean } | null>(null);
  const tabs = TABS.filter((t) =>
    c.mode === 'sdk'
      ? t !== 'upstream-request' && t !== 'upstream-response' && t !== 'changes'
      : t !== 'agent',
  );
  const copy = async () => {
    const text = curlCommand(c, location.origin);
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      // No clipboard (an insecure origin, a denied permission): the command is shown to copy by hand.
    }
    setCurl({ text, copied });
  };
  const har = async () => {
    const version = await fetch('/health')
      .then((r) => r.json())
      .then((b: { version?: string }) => b.version ?? 'unknown')
      .catch(() => 'unknown');
    download(`ccproxy-${c.id}.har`, JSON.stringify(toHar(props.detail, location.origin, version), null, 2));
  };
  return h(
    'div',
    { class: 'capture', id: 'capture' },
    h(
      'div',
      { class: 'capture-actions' },
      h('button', { type: 'button', id: 'copy-curl', onClick: () => void copy() }, 'Copy as curl'),
      h('button', { type: 'button', id: 'download-har', onClick: () => void har() }, 'Download HAR'),
      c.truncated ? h('span', { class: 'pill bad' }, 'some bodies cut at the cap') : null,
    ),
    curl
      ? h(
          'div',
          { class: 'curl' },
          h(
            'p',
            { class: 'muted' },
            curl.copied ? 'Copied. Set CCPROXY_TOKEN to the proxy token first.' : 'Copy this command:',
          ),
          h('pre', { id: 'curl-text' }, curl.text),
        )
      : null,
    h(
      'nav',
      { class: 'tabs', role: 'tablist' },
      tabs.map((t) =>
        h(
          'button',
          {
            key: t,
            type: 'button',
            role: 'tab',
            'data-tab': t,
            class: t === tab ? 'active' : undefined,
            onClick: () => setTab(t),
          },
          TAB_NAMES[t],
        ),
      ),
    ),
    h(
      'div',
      { class: 'tab-body', 'data-tab': tab },
      tab === 'client'
        ? h(Part, { part: c.client_request, empty: '' })
        : tab === 'changes'
          ? h(Changes, { capture: c })
          : tab === 'upstream-request'
            ? h(Part, { part: c.upstream_request, empty: 'Nothing went upstream.' })
            : tab === 'upstream-response'
              ? h(Part, { part: c.upstream_response, empty: 'No answer from the upstream.' })
              : tab === 'agent'
                ? h(Agent, { capture: c })
                : h(Part, { part: c.response, empty: 'Nothing was written to the client.' }),
    ),
  );
}
