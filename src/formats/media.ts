/**
 * Images and files a client sends inline (data URLs, raw base64, http(s) URLs) → Anthropic image and
 * document blocks. Shared by the OpenAI-style formats: Chat Completions `image_url`/`file` parts and
 * Responses `input_image`/`input_file` parts.
 * https://docs.anthropic.com/en/docs/build-with-claude/vision
 * https://docs.anthropic.com/en/docs/build-with-claude/pdf-support
 */
import type { DocumentBlock, ImageBlock, TextBlock } from './anthropic/types.ts';
import { invalid, isObject, isSet } from './fields.ts';

export type UserBlock = TextBlock | ImageBlock | DocumentBlock;

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

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

export function imageBlock(url: string, param: string): ImageBlock {
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
export function fileBlock(file: unknown, param: string): UserBlock {
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
