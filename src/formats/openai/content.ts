/**
 * OpenAI content parts → Anthropic content blocks (user and tool messages).
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages
 * https://docs.anthropic.com/en/docs/build-with-claude/vision
 * https://docs.anthropic.com/en/docs/build-with-claude/pdf-support
 */
import type { CacheControl, DocumentBlock, ImageBlock, TextBlock } from '../anthropic/types.ts';
import { hasText, invalid, isObject, isSet, type Obj } from './fields.ts';

export type UserBlock = TextBlock | ImageBlock | DocumentBlock;

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/**
 * A message's `content`: a string or an array of parts. Whitespace-only text is dropped (the API
 * rejects it); the caller decides what an empty result means.
 */
export function contentBlocks(content: unknown, param: string): UserBlock[] {
  if (!isSet(content)) return [];
  if (typeof content === 'string') return hasText(content) ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) throw invalid(param, 'must be a string or an array of content parts.');
  const out: UserBlock[] = [];
  for (let j = 0; j < content.length; j++) {
    const block = partBlock(content[j], `${param}[${j}]`);
    if (block) out.push(block);
  }
  return out;
}

function partBlock(part: unknown, param: string): UserBlock | undefined {
  if (typeof part === 'string') return hasText(part) ? { type: 'text', text: part } : undefined;
  if (!isObject(part)) throw invalid(param, 'must be a content part object.');
  const block = convertPart(part, param);
  // Some clients (OpenRouter style) mark cache breakpoints on parts; Anthropic honours the same field.
  if (block && isObject(part.cache_control) && part.cache_control.type === 'ephemeral') {
    const ttl = part.cache_control.ttl;
    const mark: CacheControl = { type: 'ephemeral' };
    if (ttl === '5m' || ttl === '1h') mark.ttl = ttl;
    block.cache_control = mark;
  }
  return block;
}

function convertPart(part: Obj, param: string): UserBlock | undefined {
  switch (part.type) {
    case 'text': {
      if (typeof part.text !== 'string') throw invalid(`${param}.text`, 'must be a string.');
      return hasText(part.text) ? { type: 'text', text: part.text } : undefined;
    }
    case 'image_url': {
      // The spec nests the URL in an object; a few clients send the string itself.
      const url = isObject(part.image_url) ? part.image_url.url : part.image_url;
      if (typeof url !== 'string' || url === '') throw invalid(`${param}.image_url.url`, 'must be a URL.');
      return imageBlock(url, `${param}.image_url.url`);
    }
    case 'file':
      return fileBlock(part.file, `${param}.file`);
    case 'input_audio':
      throw invalid(
        param,
        'audio input (input_audio) is not supported: Claude reads text, images and PDF files.',
      );
    default:
      throw invalid(`${param}.type`, `content part type '${String(part.type)}' is not supported.`);
  }
}

interface DataUrl {
  mediaType: string;
  base64: string;
}

/** `data:<type>[;param…][;base64],<data>` */
function parseDataUrl(url: string, param: string): DataUrl {
  const comma = url.indexOf(',');
  if (comma < 0) throw invalid(param, 'is not a valid data URL.');
  const meta = url.slice(5, comma).split(';');
  const mediaType = (meta[0] || 'text/plain').trim().toLowerCase();
  const data = url.slice(comma + 1);
  if (meta.includes('base64')) return { mediaType, base64: data };
  let decoded: string;
  try {
    decoded = decodeURIComponent(data);
  } catch {
    throw invalid(param, 'is not a valid data URL.');
  }
  return { mediaType, base64: Buffer.from(decoded, 'utf8').toString('base64') };
}

function normalizeImageType(mediaType: string): string {
  return mediaType === 'image/jpg' ? 'image/jpeg' : mediaType;
}

function imageBlock(url: string, param: string): ImageBlock {
  if (url.startsWith('data:')) {
    const { mediaType, base64 } = parseDataUrl(url, param);
    const media = normalizeImageType(mediaType);
    if (!IMAGE_TYPES.has(media)) {
      throw invalid(param, `image type '${mediaType}' is not supported (use JPEG, PNG, GIF or WebP).`);
    }
    return { type: 'image', source: { type: 'base64', media_type: media, data: base64 } };
  }
  if (url.startsWith('https://') || url.startsWith('http://')) {
    return { type: 'image', source: { type: 'url', url } };
  }
  throw invalid(param, 'must be an http(s) URL or a data: URL.');
}

/** PDFs become documents; text files become plain-text documents; images become images. */
function fileBlock(file: unknown, param: string): UserBlock {
  if (!isObject(file)) throw invalid(param, 'must be an object with file_data.');
  const filename = typeof file.filename === 'string' && file.filename !== '' ? file.filename : undefined;
  if (typeof file.file_data !== 'string' || file.file_data === '') {
    if (isSet(file.file_id)) {
      throw invalid(
        `${param}.file_id`,
        "refers to OpenAI's file storage, which ccproxy cannot read: send the file inline as file_data.",
      );
    }
    throw invalid(`${param}.file_data`, 'is required.');
  }
  const { mediaType, base64 } = file.file_data.startsWith('data:')
    ? parseDataUrl(file.file_data, `${param}.file_data`)
    : { mediaType: guessType(file.file_data, filename), base64: file.file_data };

  let block: UserBlock;
  if (mediaType === 'application/pdf') {
    block = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: base64 } };
  } else if (mediaType.startsWith('text/')) {
    const text = Buffer.from(base64, 'base64').toString('utf8');
    block = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: text } };
  } else if (IMAGE_TYPES.has(normalizeImageType(mediaType))) {
    return {
      type: 'image',
      source: { type: 'base64', media_type: normalizeImageType(mediaType), data: base64 },
    };
  } else {
    throw invalid(
      `${param}.file_data`,
      `file type '${mediaType || 'unknown'}' is not supported (PDF, plain text or an image).`,
    );
  }
  if (filename) block.title = filename;
  return block;
}

/** Raw base64 without a data URL: PDFs start with `%PDF` (base64 `JVBER`), else trust the name. */
function guessType(base64: string, filename: string | undefined): string {
  if (base64.startsWith('JVBER')) return 'application/pdf';
  const name = filename?.toLowerCase() ?? '';
  if (name.endsWith('.pdf')) return 'application/pdf';
  if (name.endsWith('.txt') || name.endsWith('.md')) return 'text/plain';
  if (name.endsWith('.png')) return 'image/png';
  if (name.endsWith('.jpg') || name.endsWith('.jpeg')) return 'image/jpeg';
  return '';
}
